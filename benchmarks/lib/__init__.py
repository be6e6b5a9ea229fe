"""Harness code shared by the benchmarks and the tests; it lives in the repository, never in the wheel."""
