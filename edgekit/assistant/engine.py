"""A thin owner of one ``llama_cpp.Llama``: lazy import, settings from the profile, streaming, prefix reuse.

llama-cpp-python keeps the KV cache of the last prompt and re-evaluates only the tokens after the longest
common prefix, so once the fixed system prompt has been evaluated (:meth:`LlamaEngine.keep_prefix`), later
prompts that start with it skip it. Nothing here knows about tools or events.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from edgekit.assistant.settings import LLMSettings
from edgekit.backends.threads import lower_priority
from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install llama-cpp-python (or scripts/install_llm.sh)"
)


def lower_thread_priority(nice: int) -> None:
    """Raise this thread's niceness to ``nice`` (never lowers it): the threads llama.cpp starts inherit it, so the
    detector on the same cores keeps its frame rate."""
    lower_priority(nice)


def import_llama_cpp() -> Any:
    """The ``llama_cpp`` module, or MissingDependencyError with the install line."""
    try:
        import llama_cpp
    except ImportError as e:
        raise MissingDependencyError("llama-cpp-python", INSTALL_HINT) from e
    return llama_cpp


@dataclass(frozen=True)
class Generation:
    """One completed generation and its cost: what the assistant's analytics record per request."""

    text: str
    tokens_in: int
    tokens_out: int
    ttft_s: float
    total_s: float

    @property
    def tokens_per_s(self) -> float | None:
        decode = self.total_s - self.ttft_s
        return round((self.tokens_out - 1) / decode, 1) if self.tokens_out > 1 and decode > 0 else None


class LlamaEngine:
    """One loaded GGUF model.

    Args:
        path: the GGUF file (already fit-checked by the caller).
        settings: threads, context and batch size.
        seed: sampling seed; with ``temperature=0`` generation is greedy anyway.
    """

    def __init__(self, path: Path, settings: LLMSettings, *, seed: int = 0) -> None:
        llama_cpp = import_llama_cpp()
        self.path = path
        self.settings = settings
        self.threads = settings.resolved_threads()
        lower_thread_priority(settings.nice)
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=settings.n_ctx,
                n_batch=settings.n_batch,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                use_mmap=True,
                seed=seed,
                verbose=False,
            )
        except ValueError as e:
            raise EdgekitError(f"llama.cpp could not load {path} ({e}): the file is damaged or unsupported") from e
        self._prefixes: list[tuple[list[int], Any]] = []
        self._formatters: dict[bool, Any] = {}  # add_generation_prompt -> Jinja2ChatFormatter
        self.prefix_loads = 0  # how often a kept prefix state was restored (tests, benchmarks)
        self.prefix_disk_hits = 0  # how often keep_prefix found the state in the on-disk cache

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self.llm.metadata)

    @property
    def has_chat_template(self) -> bool:
        return bool(self.llm.metadata.get("tokenizer.chat_template"))

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))

    def truncate(self, text: str, n_tokens: int) -> str:
        """``text`` cut to its first ``n_tokens`` tokens."""
        tokens = self.llm.tokenize(text.encode(), add_bos=False, special=False)
        if len(tokens) <= n_tokens:
            return text
        return bytes(self.llm.detokenize(tokens[:n_tokens])).decode(errors="ignore")

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Tokens of ``messages`` as a prompt (chat template applied, generation prompt added)."""
        return len(self._tokens(messages, add_generation_prompt=True))

    def render_chat(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The prompt text the GGUF's chat template makes of ``messages``."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EdgekitError(f"{self.path.name} has no chat template in its GGUF metadata (a base model?)")
        fmt = self._formatters.get(add_generation_prompt)
        if fmt is None:  # compiling the template costs ~15 ms: once per engine, not once per prompt
            fmt = self._formatters[add_generation_prompt] = Jinja2ChatFormatter(
                template=template,
                eos_token=self.llm._model.token_get_text(self.llm.token_eos()),
                bos_token=self.llm._model.token_get_text(self.llm.token_bos()),
                add_generation_prompt=add_generation_prompt,
            )
        return str(fmt(messages=cast(Any, messages)).prompt)

    def _tokens(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
        text = self.render_chat(messages, add_generation_prompt=add_generation_prompt)
        return list(self.llm.tokenize(text.encode(), add_bos=True, special=True))

    def keep_prefix(self, messages: list[dict[str, str]], *, on_disk: bool = False) -> int:
        """Evaluate ``messages`` (a fixed system prompt and examples) once and keep the KV state; later
        prompts that start with them restore it instead of evaluating them again. With ``on_disk`` the state
        is also read from / written to the user cache, so the next process skips the evaluation too.
        Returns the prefix length in tokens."""
        tokens = self._tokens(messages, add_generation_prompt=False)
        if len(tokens) > self.settings.n_ctx // 2:
            raise EdgekitError(
                f"the fixed prompt takes {len(tokens)} tokens, too much of n_ctx={self.settings.n_ctx}: "
                f"use --ctx {2 ** (2 * len(tokens) - 1).bit_length()} or more"
            )
        state = None
        key = ""
        if on_disk:
            from edgekit.assistant import prefix_cache

            llama_cpp = import_llama_cpp()
            key = prefix_cache.state_key(self.path, self.settings.n_ctx, self.settings.n_batch, tokens,
                                         str(getattr(llama_cpp, "__version__", "")))
            state = prefix_cache.load(key, llama_cpp.llama.LlamaState)
        if state is not None and list(state.input_ids[: state.n_tokens]) == tokens:
            self.llm.load_state(state)
            self.prefix_disk_hits += 1
        else:
            self.llm.reset()
            self.llm.eval(tokens)
            state = self.llm.save_state()
            if on_disk:
                prefix_cache.save(key, state)
        self._prefixes.append((tokens, state))
        return len(tokens)

    def _restore_prefix(self, messages: list[dict[str, str]]) -> None:
        """Load the kept state of the longest kept prefix of this prompt, unless the context already holds it
        (llama-cpp-python then reuses the common part by itself)."""
        if not self._prefixes:
            return
        prompt = self._tokens(messages, add_generation_prompt=True)
        candidates = [(t, s) for t, s in self._prefixes if prompt[: len(t)] == t]
        if not candidates:
            return
        tokens, state = max(candidates, key=lambda c: len(c[0]))
        held = list(self.llm._input_ids[: len(tokens)])
        if held != tokens:
            self.llm.load_state(state)
            self.prefix_loads += 1

    def chat_stream(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        **extra: Any,
    ) -> Iterator[str]:
        """Stream the reply's text pieces; with ``schema`` the reply is JSON valid for it (by a grammar)."""
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            **extra,
        }
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        lower_thread_priority(self.settings.nice)  # generators run in the thread that consumes them
        self._restore_prefix(messages)
        try:
            for chunk in self.llm.create_chat_completion(**kwargs):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except ValueError as e:
            if "context window" not in str(e):
                raise
            raise EdgekitError(f"{e}: use a larger --ctx or ask a narrower question") from e

    def generate(
        self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None, max_tokens: int = 32
    ) -> Generation:
        """The whole reply at once, with prompt/reply token counts and timings (streamed pieces are tokens)."""
        t0 = time.perf_counter()
        tokens_in = len(self._tokens(messages, add_generation_prompt=True))
        pieces: list[str] = []
        ttft = 0.0
        for piece in self.chat_stream(messages, schema=schema, max_tokens=max_tokens):
            if not pieces:
                ttft = time.perf_counter() - t0
            pieces.append(piece)
        total = time.perf_counter() - t0
        return Generation("".join(pieces), tokens_in, len(pieces), ttft or total, total)

    def complete_stream(self, prompt: str, *, max_tokens: int = 128, temperature: float = 0.0) -> Iterator[str]:
        """Stream a raw text completion (no chat template): what base models and benchmarks use."""
        lower_thread_priority(self.settings.nice)
        for chunk in self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=temperature, stream=True):
            piece = chunk["choices"][0]["text"]
            if piece:
                yield piece

    def close(self) -> None:
        """Free the model and its context now rather than at garbage collection."""
        with contextlib.suppress(AttributeError):
            self.llm.close()

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
