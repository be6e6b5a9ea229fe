"""A small INT8 calibration set is topped up with shipped frames, never with an image the gate judges."""

from __future__ import annotations

import numpy as np

from edgekit.export.calib import list_images
from edgekit.export.calib_topup import demo_frames, file_digests, top_up
from edgekit.export.valset import SHIPPED, images_dir


def test_top_up_adds_synthetic_and_demo_frames_but_no_validation_image() -> None:
    val = file_digests(list_images(images_dir(SHIPPED), "validation"))
    got = top_up(12, 160, val, seed=3)
    assert got.tensors.shape == (12, 3, 160, 160) and got.tensors.dtype == np.float32
    assert len(got.names) == len(set(got.names)) == 12
    assert set(got.sources) == {"synthetic", "assets"} and got.sources["synthetic"] >= 6
    # Each frame is a real letterboxed image (0..1, not blank), and the set is the same for the same seed.
    assert all(0.0 <= t.min() < t.max() <= 1.0 for t in got.tensors)
    assert np.array_equal(top_up(12, 160, val, seed=3).tensors, got.tensors)


def test_frames_already_used_are_not_added_again() -> None:
    stills = demo_frames(set())
    assert stills, "the package ships its demo frames"
    got = top_up(len(stills) + 4, 160, file_digests(stills))
    assert got.sources == {"synthetic": len(stills) + 4}
