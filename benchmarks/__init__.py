"""edgekit's benchmarks: run each from the repository root as ``python -m benchmarks.<script>`` (see README.md)."""
