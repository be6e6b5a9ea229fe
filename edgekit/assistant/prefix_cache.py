"""Keep the KV state of a fixed prompt on disk, so a fresh ``edgekit ask`` process skips evaluating it.

A one-shot CLI question otherwise spends most of its model time on the fixed prompt (~160 tokens: 1.5 CPU-s on
this 2-core VM, several seconds on a Pi 4). The file holds llama.cpp's state bytes, the prompt tokens and the last
row of logits (all ``load_state`` needs to continue), as ``.npz`` — no pickle, so a file in the cache cannot run
code. The key covers the model file, context/batch sizes, llama-cpp-python's version and the tokens themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.paths import cache_dir

log = logging.getLogger(__name__)


def state_key(model: Path, n_ctx: int, n_batch: int, tokens: list[int], version: str) -> str:
    st = model.stat()
    h = hashlib.sha256(f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}|{n_ctx}|{n_batch}|{version}|".encode())
    h.update(np.asarray(tokens, dtype=np.int32).tobytes())
    return h.hexdigest()[:32]


def _path(key: str) -> Path:
    return cache_dir() / "llm-prefix" / f"{key}.npz"


def load(key: str, llama_state_cls: Any) -> Any | None:
    """The kept state, or None (missing or unreadable: the caller evaluates the prompt again)."""
    p = _path(key)
    try:
        with np.load(p, allow_pickle=False) as z:
            return llama_state_cls(
                input_ids=z["input_ids"], scores=z["scores"], n_tokens=int(z["n_tokens"]),
                llama_state=z["state"].tobytes(), llama_state_size=int(z["state"].size), seed=int(z["seed"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as e:
        log.info("ignoring prefix cache %s: %s", p, e)
        return None


def save(key: str, state: Any) -> None:
    """Write the state atomically; a cache that cannot be written is only logged."""
    p = _path(key)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, input_ids=np.asarray(state.input_ids), scores=np.asarray(state.scores)[-1:],
                     n_tokens=np.int64(state.n_tokens), seed=np.int64(state.seed),
                     state=np.frombuffer(state.llama_state, dtype=np.uint8))
        os.replace(tmp, p)
    except OSError as e:
        log.info("prefix cache not written (%s)", e)
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
