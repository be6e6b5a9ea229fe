"""Give native memory that model runtimes freed back to the operating system (glibc's ``malloc_trim``).

ONNX Runtime parses the model and optimises its graph with transient copies; once the session exists they are
freed, but glibc keeps freed heap pages resident when anything still lives above them: about 48 MB after loading
the 640 FP32 detector, a fifth of what a Pi's daemon may use (issue 16). ``malloc_trim(0)`` returns every free
page of every malloc arena (``madvise``), which costs a few milliseconds and nothing later: the pages are
faulted in again only if they are used again. Elsewhere than glibc (musl, macOS) it does nothing.

Examples:
    >>> release_freed_heap() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def map_large_allocations(threshold: int = 256 * 1024) -> bool:
    """Serve every allocation of ``threshold`` bytes or more with its own mapping, unmapped when freed.

    glibc raises its mmap threshold each time such a block is freed (up to 32 MB), so a camera's per-frame buffers
    (a 720p frame 2.7 MB, a 640 input tensor 4.9 MB, JPEG buffers) soon come from the heap and stay resident after
    use, in every thread's arena: 10 MB at steady state, more when events fire. A fixed threshold gives them back
    on free, for a few page faults per frame. True where glibc took the setting.
    """
    libc = _libc()
    return libc is not None and bool(libc.mallopt(M_MMAP_THRESHOLD, threshold))


def release_freed_heap() -> bool:
    """Return freed malloc memory to the OS; True when glibc did release some."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
