"""Recommend a device profile for the machine ``probe_host`` describes."""

from __future__ import annotations

from edgekit.device.host import HostInfo
from edgekit.device.profiles import list_profiles


def recommend_profile(host: HostInfo) -> tuple[str, str]:
    """(profile name, reason) for ``host``."""
    if host.edgetpu:
        if host.board == "coral-devboard":
            return "coral-devboard", "Coral Dev Board with its PCIe Edge TPU"
        return "coral-usb", f"Edge TPU found ({host.edgetpu[0]})"
    for p in list_profiles():
        if any(m.lower() in host.model.lower() for m in p.board.device_tree_match):
            return p.name, f"device tree model is {host.model!r}"
    if host.board == "jetson":
        return "jetson-orin-nano", f"Jetson ({host.jetson_release or host.model}) not matched exactly"
    if host.board == "raspberry-pi":
        return "rpi4", f"Raspberry Pi ({host.model}) not matched exactly"
    return "desktop", "no board-specific hardware found"
