"""Run inside the arm64 root: each model given, opened by edgekit's own backend for its file type, on one input.

Usage: python arm64_infer.py INPUT.npy OUT_DIR MODEL... (writes OUT_DIR/<model file name>.npy and prints each
backend's name). Needs only numpy and the runtimes: edgekit's backends import nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgekit.backends import BackendOptions, open_backend


def main(argv: list[str]) -> None:
    x = np.load(argv[0])
    out = Path(argv[1])
    for model in argv[2:]:
        be = open_backend(model, BackendOptions(threads=2))
        try:
            y = np.asarray(be.infer([x])[0], np.float32)
        finally:
            be.close()
        np.save(out / f"{Path(model).name}.npy", y)
        print(Path(model).name, be.name, list(y.shape), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
