"""CI's short version of the scale proof: 10 simulated boards, 30 s, hub SIGKILLed and broker restarted."""

from __future__ import annotations

import pytest

from tests.hub.scale import Plan, run_scale


@pytest.mark.slow
def test_ten_boards_through_hub_kill_and_broker_restart_lose_and_double_nothing(pg_dsn, tmp_path):
    r = run_scale(Plan(boards=10, rate=100, duration=30, kill_hub_at=10, restart_broker_at=20), pg_dsn, tmp_path)
    assert r["produced"] >= 1000, r  # the boards really ran for the whole window
    assert r["lost"] == 0 and r["duplicated_rows"] == 0 and r["unexpected"] == 0, r
    assert r["committed_rows"] == r["produced"], r
    assert r["boards_with_stats"] == 10, r
    assert [w for _, w in r["timeline_s"]] == ["kill_hub", "hub_started", "restart_broker", "broker_started"]
