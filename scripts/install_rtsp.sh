#!/usr/bin/env bash
# A real RTSP server for the RTSP source tests: Debian's GStreamer RTSP server (GObject introspection, run by
# Debian's own /usr/bin/python3, since python3-gi is not in a venv) and the plugins that decode the test video and
# encode it to H.264 (x264enc is in -ugly, decodebin's MPEG-4 decoder in -libav).
#
# Usage: scripts/install_rtsp.sh
set -euo pipefail
if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" \
        >/dev/null 2>&1 || ! command -v gst-inspect-1.0 >/dev/null 2>&1 || ! gst-inspect-1.0 x264enc >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gir1.2-gst-rtsp-server-1.0 python3-gi \
        gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly \
        gstreamer1.0-libav >/dev/null
fi
/usr/bin/python3 - <<'PY'
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: F401
Gst.init(None)
missing = [e for e in ("x264enc", "rtph264pay", "decodebin", "videoconvert") if Gst.ElementFactory.find(e) is None]
assert not missing, f"GStreamer elements missing: {missing}"
PY
