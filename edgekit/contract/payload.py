"""What an MQTT payload may be before anyone parses it: a nesting-depth check that never recurses.

Python's ``json`` recurses per nesting level, so a hostile ``[[[[…`` raises RecursionError inside whatever thread
parses it (paho's network thread, a hub worker). Every consumer of untrusted JSON asks this first.
"""

from __future__ import annotations


def json_too_deep(payload: bytes, limit: int) -> bool:
    """True when a JSON text nests deeper than ``limit`` (counted outside strings), decided without parsing it.

    Examples:
        >>> json_too_deep(b'{"a": [1, {"b": "[[[[["}]}', 3), json_too_deep(b'[[[[1]]]]', 3)
        (False, True)
    """
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False  # fewer brackets than the limit: cannot be deeper (the common case, no scan)
    depth = 0
    in_str = escaped = False
    for c in payload:
        if in_str:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:  # quote
                in_str = False
        elif c == 0x22:
            in_str = True
        elif c in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif c in (0x5D, 0x7D):
            depth -= 1
    return False
