"""A real RTSP server for the tests: Debian's GStreamer RTSP server serving one video file at rtsp://HOST:PORT/cam.

Run it with Debian's interpreter (``/usr/bin/python3``: python3-gi is not in a venv), installed by
scripts/install_rtsp.sh. Each client gets its own pipeline that plays the file from the start in real time, encoded
to H.264 on the fly. Prints ``ready`` once it listens. SIGTERM/SIGKILL end it; SIGSTOP freezes it with its
connections open (a camera that accepts, then stops sending).

Usage: /usr/bin/python3 rtsp_server.py PORT VIDEO
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINE = (
    "( filesrc location={video} ! decodebin ! videoconvert ! "
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


def main() -> None:
    port, video = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE.format(video=video))
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
