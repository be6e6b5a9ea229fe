"""Read what the fit check needs from a GGUF file's header, without loading the model.

A small reader of its own rather than ``gguf.GGUFReader``: that one builds a numpy view for every vocabulary
entry and takes tens of seconds on a 2-core board; this one skips arrays and stops at the tensor data.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError

# GGUF value types (ggml/include/gguf.h): code -> struct format of one scalar.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_KEEP_ARRAY_MAX = 256  # longer arrays (vocabularies, merges) are skipped, not decoded
_U64 = struct.Struct("<Q")


class _Corrupt(Exception):
    pass


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def read(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        if self.pos + size > len(self.buf):
            raise _Corrupt("header ends early")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.read("Q")
        if self.pos + n > len(self.buf):
            raise _Corrupt("string runs past the end of the file")
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.read(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, count = self.read("I"), self.read("Q")
            if count > _KEEP_ARRAY_MAX:
                self._skip_array(etype, count)
                return _Skipped(count)
            return [self.value(etype) for _ in range(count)]
        raise _Corrupt(f"unknown value type {vtype}")

    def _skip_array(self, etype: int, count: int) -> None:
        if etype in _SCALARS:
            self.pos += struct.calcsize("<" + _SCALARS[etype]) * count
        elif etype == _STRING:  # a tight loop: ~100k vocabulary strings are skipped on every `edgekit ask`
            unpack, buf, pos = _U64.unpack_from, self.buf, self.pos
            try:
                for _ in range(count):
                    pos += 8 + unpack(buf, pos)[0]
            except struct.error as e:
                raise _Corrupt("array runs past the end of the file") from e
            self.pos = pos
        else:
            for _ in range(count):
                self.value(etype)
        if self.pos > len(self.buf):
            raise _Corrupt("array runs past the end of the file")


@dataclass(frozen=True)
class _Skipped:
    """Placeholder for a long array: only its length is kept."""

    length: int


@dataclass(frozen=True)
class GGUFInfo:
    """Header facts of one GGUF file."""

    path: Path
    file_bytes: int
    weight_bytes: int  # tensor data, i.e. what decoding one token has to read
    n_tensors: int
    metadata: dict[str, Any] = field(repr=False)
    matrices: dict[str, int] = field(default_factory=dict, repr=False)
    """Element count of every 2-D tensor, by name."""

    @property
    def arch(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def arch_key(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.arch}.{key}", default)

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", self.path.stem))

    @property
    def n_layer(self) -> int:
        return int(self.arch_key("block_count", 0))

    @property
    def n_embd(self) -> int:
        return int(self.arch_key("embedding_length", 0))

    @property
    def n_ff(self) -> int:
        """Feed-forward width (4 × ``n_embd`` where the header leaves it out)."""
        return _max_int(self.arch_key("feed_forward_length", 4 * self.n_embd))

    @property
    def n_head(self) -> int:
        return _max_int(self.arch_key("attention.head_count", 1))

    @property
    def n_head_kv(self) -> int:
        return _max_int(self.arch_key("attention.head_count_kv", self.n_head))

    @property
    def head_dim_k(self) -> int:
        return int(self.arch_key("attention.key_length", 0)) or self.n_embd // max(self.n_head, 1)

    @property
    def head_dim_v(self) -> int:
        return int(self.arch_key("attention.value_length", 0)) or self.n_embd // max(self.n_head, 1)

    @property
    def context_length(self) -> int:
        return int(self.arch_key("context_length", 0))

    @property
    def n_vocab(self) -> int:
        v = self.arch_key("vocab_size")
        if v is None:
            tokens = self.metadata.get("tokenizer.ggml.tokens")
            v = tokens.length if isinstance(tokens, _Skipped) else len(tokens or [])
        return int(v)

    @property
    def chat_template(self) -> str | None:
        t = self.metadata.get("tokenizer.chat_template")
        return t if isinstance(t, str) and t.strip() else None

    @property
    def matvec_params(self) -> int:
        """Weights one decoded token multiplies: every matrix but the embedding lookup (which reads one row), plus
        the embedding where it doubles as the output layer (tied weights)."""
        n = sum(v for k, v in self.matrices.items() if k != "token_embd.weight")
        if "output.weight" not in self.matrices:
            n += self.matrices.get("token_embd.weight", 0)
        return n

    def kv_bytes(self, n_ctx: int, bytes_per_value: int = 2) -> int:
        """KV cache size for ``n_ctx`` tokens (f16 by default), all layers, K and V."""
        per_token = self.n_layer * self.n_head_kv * (self.head_dim_k + self.head_dim_v) * bytes_per_value
        return per_token * n_ctx


def _max_int(v: Any) -> int:
    # some architectures give a per-layer list; the largest entry bounds the cache
    if isinstance(v, list):
        return max(int(x) for x in v) if v else 0
    return int(v)


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Parse the header of ``path``; a missing, truncated or non-GGUF file raises one clear EdgekitError."""
    p = Path(path)
    if not p.is_file():
        raise EdgekitError(f"GGUF file not found: {p}")
    try:
        with open(p, "rb") as f:
            size = p.stat().st_size
            if size < 24:
                raise _Corrupt("file too small")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(p, size, _Cursor(buf))
    except _Corrupt as e:
        raise EdgekitError(f"{p} is not a usable GGUF file ({e}): download it again or pick another --model") from e


def _parse(path: Path, size: int, cur: _Cursor) -> GGUFInfo:
    if cur.buf[:4] != b"GGUF":
        raise _Corrupt("no GGUF magic at the start")
    cur.pos = 4
    version = cur.read("I")
    if version not in (2, 3):
        raise _Corrupt(f"unsupported GGUF version {version}")
    n_tensors, n_kv = cur.read("Q"), cur.read("Q")
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        raise _Corrupt("implausible tensor or key count")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        meta[key] = cur.value(cur.read("I"))
    matrices: dict[str, int] = {}
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.read("I")
        if n_dims > 8:
            raise _Corrupt(f"tensor {name!r} has {n_dims} dimensions")
        dims = [cur.read("Q") for _ in range(n_dims)]
        if n_dims == 2:
            matrices[name] = dims[0] * dims[1]
        cur.pos += 4 + 8  # ggml type, offset
    align = int(meta.get("general.alignment", 32))
    data_start = (cur.pos + align - 1) // align * align
    if data_start > size:
        raise _Corrupt("tensor data missing (file truncated)")
    return GGUFInfo(path, size, size - data_start, n_tensors, meta, matrices)
