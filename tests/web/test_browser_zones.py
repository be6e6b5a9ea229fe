"""The zone editor in a real Chromium over the real daemon (synthetic camera, the bundled detector, ByteTrack, the
rules) started from a config file with ``--allow-config-writes``: bad shapes and a read-only config get one message
in the page and change nothing; a zone redrawn in the page and saved makes its rule fire without a restart.

The rule's zone starts in the top-left corner, where no one's feet ever are (the synthetic walkers' feet are below
y = 329), so it cannot fire until the zone is redrawn over the lawn. The screenshot goes to ``test-artifacts/web/``.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgekit.config.daemon import load_config
from tests.helpers import wait_until
from tests.web.conftest import ARTIFACTS, RunningDaemon, checked_page, needs_chromium, stop_daemon

pytestmark = [pytest.mark.slow, *needs_chromium]

CONFIG = """\
# zone editor test: the comment and the other keys must survive a save
device: zonetest
state_dir: {state}
cameras:
  door:
    source: synthetic:0:60
    realtime: true
    zones:
      corner:
        polygon: [[0, 0], [200, 0], [200, 150], [0, 150]]
rules:
  - name: person_in_corner
    labels: [Normal, Fall]
    zone: corner
    min_frames: 1
    cooldown_s: 2
mqtt: null
metrics: {{enabled: false}}
dashboard: {{enabled: true, port: 0}}
"""
LAWN = [(20, 340), (1260, 340), (1260, 715), (20, 715)]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("zones")
    path = tmp / "daemon.yaml"
    path.write_text(CONFIG.format(state=tmp / "state"))
    return path


@pytest.fixture(scope="module")
def daemon(config: Path) -> Iterator[RunningDaemon]:
    """``edgekit run --config FILE --allow-config-writes``, built as the CLI builds it."""
    import threading

    from edgekit.cli.run import build_daemon

    d, dashboard = build_daemon(load_config(config), config_path=config, allow_config_writes=True)
    assert dashboard is not None
    stop = threading.Event()
    d.start()
    t = threading.Thread(target=d.run, args=(stop, 1.0), daemon=True)
    t.start()
    running = RunningDaemon(d, dashboard, stop, t)
    yield running
    stop_daemon(running)


@pytest.fixture
def page(chromium_browser: Any, daemon: RunningDaemon) -> Iterator[Any]:
    with checked_page(chromium_browser, daemon.base + "/") as pg:
        pg.click("#zones-tab")
        pg.wait_for_selector("#zone-canvas[data-ready='1']")
        yield pg


def at(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where frame pixel (x, y) is on the screen (the canvas is scaled to the page)."""
    box = page.locator("#zone-canvas").bounding_box()
    width = page.evaluate("document.getElementById('zone-canvas').width")
    s = box["width"] / width
    return box["x"] + x * s, box["y"] + y * s


def redraw_corner(page: Any, points: list[tuple[float, float]]) -> None:
    """Clear the `corner` zone's points and click new ones on the picture."""
    page.locator("#zone-shapes li", has=page.locator("input[value='corner']")).locator(".shape-clear").click()
    for x, y in points:
        page.mouse.click(*at(page, x, y))


def save(page: Any) -> None:
    page.evaluate("document.getElementById('zone-error').textContent = ''")
    page.click("#zone-save")


def test_a_self_crossing_zone_is_refused_in_the_page(page: Any, config: Path) -> None:
    before = config.read_text()
    redraw_corner(page, [(20, 340), (1260, 715), (1260, 340), (20, 715)])  # a bow tie
    save(page)
    page.wait_for_function("() => document.getElementById('zone-error').textContent.includes('cross')")
    assert config.read_text() == before
    page.mouse.click(*at(page, 20, 715), button="right")  # right-click deletes a point: a triangle is left
    assert page.inner_text("#zone-shapes li.selected small") == "3 pt"


def test_a_point_dragged_outside_the_frame_is_refused(page: Any, config: Path) -> None:
    before = config.read_text()
    redraw_corner(page, LAWN)
    page.mouse.move(*at(page, 1260, 340))  # drag the lawn's top-right corner past the picture's right edge
    page.mouse.down()
    page.mouse.move(*at(page, 1400, 340), steps=5)
    page.mouse.up()
    save(page)
    page.wait_for_function("() => document.getElementById('zone-error').textContent.includes('outside the 1280x720 frame')")
    assert config.read_text() == before


def test_a_read_only_config_is_one_message(page: Any, config: Path, daemon: RunningDaemon) -> None:
    before = config.read_text()
    mode = config.stat().st_mode
    config.chmod(stat.S_IRUSR)
    try:
        redraw_corner(page, LAWN)
        save(page)
        page.wait_for_function("() => document.getElementById('zone-error').textContent.includes('read-only')")
        assert "[20, 340]" in page.inner_text("#zone-yaml")  # the YAML to paste by hand
    finally:
        config.chmod(mode)
    assert config.read_text() == before
    assert daemon.daemon.store.query(rule="person_in_corner") == []  # the running rules did not change either


def test_draw_a_zone_save_it_and_its_rule_fires_without_a_restart(page: Any, config: Path,
                                                                   daemon: RunningDaemon) -> None:
    store = daemon.daemon.store
    assert store.query(rule="person_in_corner") == [], "the corner zone holds no feet: nothing may fire before"
    redraw_corner(page, LAWN)
    page.click("#zone-check")
    page.wait_for_function("() => document.getElementById('zone-yaml').textContent.includes('[20, 340]')")
    save(page)
    page.wait_for_function("() => document.getElementById('zone-message').textContent.includes('saved')")
    saved = load_config(config)
    assert saved.cameras["door"].zones["corner"].polygon == [(float(x), float(y)) for x, y in LAWN]
    assert config.read_text().startswith("# zone editor test")
    wait_until(lambda: store.query(rule="person_in_corner"), 240, interval=0.5,
               what="an event of the redrawn zone's rule")
    # For the docs' screenshot: a fresh frame under the saved zone, a line and a motion mask beside it, checked.
    shown = page.get_attribute("#zone-canvas", "data-frames")
    page.click("#zone-reload")
    page.wait_for_function(f"() => document.getElementById('zone-canvas').dataset.frames !== {shown!r}")
    for kind, points in (("line", [(1100, 120), (1100, 700)]), ("mask", [(0, 0), (400, 0), (400, 80), (0, 80)])):
        page.click(f".zone-add[data-kind='{kind}']")
        for x, y in points:
            page.mouse.click(*at(page, x, y))
        if kind == "line":
            page.locator("#zone-shapes li.selected input.shape-name").fill("gate")  # renamed in the list
    page.click("#zone-check")
    page.wait_for_function("() => document.getElementById('zone-yaml').textContent.includes('gate:')")
    page.screenshot(path=str(ARTIFACTS / "zones.png"))
