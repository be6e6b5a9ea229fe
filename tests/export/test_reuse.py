"""`edgekit export --profile P` run twice converts once: the second run finds the cached export made from the same
source with the same options and says it reused it; `--force` or another option exports anew."""

from __future__ import annotations

import json
from pathlib import Path

from edgekit.export.pipeline import reusable
from edgekit.export.report import ExportReport, report_paths
from tests.helpers import run_cli


def _export(cache: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    r = run_cli("export", "--profile", "desktop", "--generated", "2", "--json", *extra,
                env={"EDGEKIT_CACHE": str(cache)}, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_second_profile_export_reuses_the_cached_artifact(tmp_path: Path) -> None:
    first = _export(tmp_path)
    art = Path(first["artifact"])
    assert first["reused"] is False and first["passed"] is True and first["options_key"]
    made = (art.stat().st_mtime_ns, art.stat().st_ino)

    second = _export(tmp_path)
    assert second["reused"] is True and any(n.startswith("reused: ") for n in second["notes"])
    # The same export, not a new one: its report (time taken, key) and the artifact's file are the first run's.
    assert (second["artifact"], second["options_key"], second["seconds"]) == (
        first["artifact"], first["options_key"], first["seconds"])
    assert (art.stat().st_mtime_ns, art.stat().st_ino) == made
    on_disk = json.loads(report_paths(art)[0].read_text())
    assert on_disk["reused"] is False  # the report next to the artifact still describes the run that made it

    other = _export(tmp_path, "--max-map-drop", "0.5")  # another option: another export
    assert other["reused"] is False and other["options_key"] != first["options_key"]
    forced = _export(tmp_path, "--force")
    assert forced["reused"] is False and forced["options_key"] == first["options_key"]
    assert art.stat().st_mtime_ns != made[0]


def test_failed_or_incomplete_exports_are_not_reused(tmp_path: Path) -> None:
    first = _export(tmp_path)
    art = Path(first["artifact"])
    js = report_paths(art)[0]
    good = ExportReport.model_validate_json(js.read_text())
    assert reusable(art.parent, first["options_key"]) is not None
    assert reusable(art.parent, "another-key") is None
    for change in ({"passed": False}, {"skipped": ["TensorRT not installed"]}, {"artifact_bytes": 1}):
        js.write_text(good.model_copy(update=change).model_dump_json())
        assert reusable(art.parent, first["options_key"]) is None, change
