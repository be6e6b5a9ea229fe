"""Sources: synthetic determinism, files, the newest-frame capture thread, reconnect with backoff, CSI strings."""

import threading
import time

import numpy as np
import pytest

from edgekit.device.host import detect_board
from edgekit.errors import MissingDependencyError
from edgekit.sources import (
    CaptureSource,
    LatestFrameReader,
    SourceError,
    SyntheticScene,
    SyntheticSource,
    csi_pipeline,
    make_synthetic_video,
    open_source,
)
from edgekit.sources.live import Backoff, gstreamer_available
from tests.helpers import IMAGES


def test_synthetic_scene_is_deterministic_by_seed_and_reports_truth():
    a, b, c = SyntheticScene.random(5), SyntheticScene.random(5), SyntheticScene.random(6)
    fa, ba = a.render(2.0)
    fb, bb = b.render(2.0)
    assert np.array_equal(fa, fb) and np.array_equal(ba, bb)
    assert not np.array_equal(fa, c.render(2.0)[0])
    assert any(len(a.render(t)[1]) for t in np.arange(0, a.duration, 0.5))


def test_synthetic_video_round_trip(tmp_path):
    path = make_synthetic_video(tmp_path / "v.mp4", seconds=2, fps=10, seed=1)
    src = open_source(str(path))
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert len(frames) == 20 and frames[0].image.shape == (720, 1280, 3)
    assert [f.seq for f in frames] == list(range(20)) and src.status == "ended"


def test_folder_source_reads_every_image_in_order():
    src = open_source(str(IMAGES))
    names = []
    while (f := src.read()) is not None:
        names.append(f.source_id.rsplit("/", 1)[-1])
    assert names == sorted(p.name for p in IMAGES.glob("*.jpg"))


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("synthetic:x", "synthetic:SEED"),
        ("synthetic:1:-3", "PERIOD_S"),
        ("usb:a", "camera number"),
        ("/no/such.mp4", "video not found"),
        ("/no/such.png", "image not found"),
    ],
)
def test_bad_source_uris(uri, message):
    with pytest.raises(SourceError, match=message):
        open_source(uri)


def test_latest_frame_reader_drops_stale_frames_for_live_sources():
    src = SyntheticSource(seed=1, fps=50.0, duration=2.0, realtime=True)
    reader = LatestFrameReader(src)
    got = []
    while (item := reader.get(timeout=5)) is not None:
        got.append(item[0].seq)
        time.sleep(0.1)  # a consumer 5× slower than the camera
    reader.close()
    assert reader.dropped > 0 and reader.dropped + len(got) == reader.captured
    assert got == sorted(got) and len(got) < 100
    # Each frame handed over was the newest at that moment: gaps, never a backlog.
    assert max(np.diff(got)) > 1


def test_latest_frame_reader_keeps_every_frame_of_a_file(tmp_path):
    path = make_synthetic_video(tmp_path / "v.mp4", seconds=1, fps=10, seed=1)
    reader = LatestFrameReader(open_source(str(path)), prepare=lambda f: f.image.mean())
    items = list(reader)
    assert [f.seq for f, _ in items] == list(range(10)) and reader.dropped == 0
    assert all(isinstance(m, float) for _, m in items)


def test_capture_source_reconnects_with_backoff_and_resumes():
    scene = SyntheticScene.random(3)
    state = {"opens": 0, "reads": 0}
    lock = threading.Lock()

    def opener():
        with lock:
            state["opens"] += 1
            if state["opens"] in (2, 3):  # the camera is gone for two attempts after the first drop
                raise SourceError("cannot open test camera")

        def read():
            with lock:
                state["reads"] += 1
                if state["reads"] == 4:
                    return None  # the stream breaks once
            return scene.render(0.5)[0]

        return read, lambda: None

    src = CaptureSource("test:0", opener, backoff=Backoff(0.01, 0.05), max_failed_reads=1)
    frames = [src.read() for _ in range(6)]
    assert all(f is not None for f in frames)
    assert src.reconnects == 1 and state["opens"] == 4 and src.status == "ok"
    src.close()
    assert src.read() is None and src.status == "ended"


def test_camera_absent_at_start_is_retried_when_asked():
    src = open_source("usb:9", wait_for_first=True)
    assert src.status == "reconnecting"
    src.close()


def test_backoff_doubles_to_a_cap_and_resets():
    b = Backoff(0.5, 3.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5


def test_csi_pipeline_string_for_jetson():
    s = csi_pipeline(1, 1920, 1080, 30, flip=2)
    assert s.startswith(
        "nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1"
    )
    assert "nvvidconv flip-method=2" in s and s.endswith("appsink drop=true max-buffers=1 sync=false")


@pytest.mark.skipif(
    gstreamer_available(), reason="this OpenCV has GStreamer: the missing-GStreamer path cannot happen"
)
def test_csi_without_gstreamer_says_what_to_install():
    with pytest.raises(MissingDependencyError, match="JetPack's OpenCV"):
        open_source("csi://0")


def test_picamera2_absent_says_what_to_install():
    pytest.importorskip("cv2")
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="python3-picamera2"):
            open_source("picamera2:0")
    else:
        pytest.skip("picamera2 is installed")


@pytest.mark.parametrize(
    ("files", "kind", "detail"),
    [
        (
            {
                "etc/nv_tegra_release": "# R36 (release), REVISION: 4.0\n",
                "proc/device-tree/model": "NVIDIA Jetson Orin Nano Developer Kit\x00",
            },
            "jetson",
            "R36",
        ),
        ({"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00"}, "raspberry-pi", "Raspberry Pi 5"),
        (
            {
                "proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\x00",
                "sys/bus/usb/devices/2-1/idVendor": "18d1\n",
                "sys/bus/usb/devices/2-1/idProduct": "9302\n",
            },
            "raspberry-pi",
            "USB Edge TPU 18d1:9302",
        ),
        ({"proc/cpuinfo": "model name\t: AMD Ryzen 7 5800X\n"}, "desktop", "AMD Ryzen"),
    ],
)
def test_board_detection_from_system_files(tmp_path, files, kind, detail):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    got_kind, model, tegra, tpu = detect_board(tmp_path)
    assert got_kind == kind and detail in " ".join([model, tegra, *tpu])


def test_doctor_recommends_profiles_for_boards(tmp_path):
    from edgekit.device.doctor import recommend_profile
    from edgekit.device.host import HostInfo

    pi5 = HostInfo(board="raspberry-pi", model="Raspberry Pi 5 Model B Rev 1.0", cores=4, ram_mb=8000)
    orin = HostInfo(board="jetson", model="NVIDIA Jetson Orin Nano Developer Kit", cores=6, ram_mb=8000)
    coral = HostInfo(
        board="raspberry-pi", model="Raspberry Pi 5", cores=4, ram_mb=8000, edgetpu=["USB Edge TPU"]
    )
    assert recommend_profile(pi5)[0] == "rpi5"
    assert recommend_profile(orin)[0] == "jetson-orin-nano"
    assert recommend_profile(coral)[0] == "coral-usb"


def test_synthetic_uri_sets_seed_and_crossing_period():
    src = open_source("synthetic:4:30")
    assert isinstance(src, SyntheticSource) and src.id == "synthetic:4:30"
    assert src.scene.duration > 20  # three walkers, each entering 10 s after the previous one
    assert np.array_equal(src.read().image, SyntheticScene.random(4, period=30).render(0.0)[0])
