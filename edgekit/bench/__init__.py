"""Benchmarks: warm-up, timed runs, p50/p90/p99 per stage, FPS, RSS. JSON first; tables rendered from it."""
