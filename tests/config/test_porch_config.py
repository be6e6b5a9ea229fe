"""Config of the porch-camera sections (motion, objects, clips, frame_size): bad input is one line, exit 2."""

from __future__ import annotations

import pytest

from edgekit.config.daemon import parse_config
from edgekit.errors import EdgekitError
from edgekit.pipeline.startup import verify_labels
from tests.helpers import run_cli

GOOD = """\
cameras:
  porch:
    source: synthetic
    frame_size: [1280, 720]
    motion:
      mask: [[[980, 0], [1280, 0], [1280, 260]]]
    objects:
      masks: {Normal: [[[0, 0], [1280, 0], [1280, 180], [0, 180]]]}
      filters: {Normal: {min_area: 3000, max_area: 600000}}
    clips: {enabled: true, pre_s: 5, post_s: 5, buffer_s: 30, folder: FOLDER}
    zones:
      path: {polygon: [[300, 720], [980, 720], [760, 300]]}
mqtt: null
metrics: {enabled: false}
"""

BAD = [
    ("[1280, 260]]]", "[1380, 260]]]", r"cameras\.porch: motion\.mask 0: point \[1380, 260\] is outside the 1280x720 frame"),
    ("[980, 720], [760, 300]]", "[980, 800], [760, 300]]", r"zone 'path': point \[980, 800\] is outside"),
    ("    frame_size: [1280, 720]\n", "", r"motion\.mask 0 needs `frame_size"),
    ("min_area: 3000, max_area: 600000", "min_area: 3000, max_area: 300",
     r"objects\.filters\.Normal: min_area 3000 is larger than max_area 300"),
    ("pre_s: 5,", "pre_s: 40,", r"clips: pre_s 40 \(\+ one segment of 2 s\) is longer than buffer_s 30"),
    ("folder: FOLDER", "folder: /proc/edgekit/clips", r"clip folder /proc/edgekit/clips is not writable"),
    ("frame_size: [1280, 720]", "frame_size: [1280, 0]", r"frame_size\.1: .*greater than 0"),
    ("motion:\n", "motion:\n      treshold: 3\n", r"unknown key 'treshold'"),
]


def good(tmp_path, old: str = "", new: str = "") -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1).replace("FOLDER", str(tmp_path / "clips"))


def test_good_porch_config(tmp_path):
    cfg = parse_config(good(tmp_path))
    cam = cfg.cameras["porch"]
    assert cam.frame_size == (1280, 720) and cam.clips.enabled and cam.motion.enabled
    verify_labels(cfg)


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_bad_porch_config_is_one_line(tmp_path, old, new, message):
    with pytest.raises(EdgekitError, match=message) as ei:
        parse_config(good(tmp_path, old, new), "porch.yaml")
    assert "\n" not in str(ei.value) and "porch.yaml:" in str(ei.value)


def test_unknown_label_in_objects_is_refused_against_the_model(tmp_path):
    cfg = parse_config(good(tmp_path).replace("filters: {Normal:", "filters: {person:"))
    with pytest.raises(EdgekitError, match=r"camera 'porch': objects names label 'person'.*Normal"):
        verify_labels(cfg)


@pytest.mark.parametrize(("old", "new", "message"), [BAD[0], BAD[3], BAD[4], BAD[5]])
def test_config_check_cli_exits_2_with_one_line(tmp_path, old, new, message):
    """The four bad inputs the issue names, through `edgekit config check` as a user runs it."""
    import re

    f = tmp_path / "porch.yaml"
    f.write_text(good(tmp_path, old, new))
    r = run_cli("config", "check", str(f), timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert re.search(message, lines[0]), lines[0]
