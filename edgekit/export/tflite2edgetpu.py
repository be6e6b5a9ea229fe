"""Full-INT8 TFLite → Edge TPU TFLite with Coral's ``edgetpu_compiler``; parses its log for TPU vs CPU ops."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install it on an x86-64 Debian/Ubuntu host from Coral's apt repository (coral.ai/software: "
    "`sudo apt-get install edgetpu-compiler`), or set EDGEKIT_EDGETPU_COMPILER to its path"
)


@dataclass(frozen=True, slots=True)
class CompileResult:
    """What the compiler did: output model, ops mapped to the Edge TPU and left on the CPU, its log."""

    model: Path
    tpu_ops: int
    cpu_ops: int
    log: str
    cpu_op_names: tuple[str, ...] = ()


def compiler_path() -> str:
    """Path of ``edgetpu_compiler`` or a one-line error saying how to get it."""
    import os

    path = os.environ.get("EDGEKIT_EDGETPU_COMPILER") or shutil.which("edgetpu_compiler")
    if not path:
        raise MissingDependencyError("edgetpu_compiler (Coral Edge TPU compiler)", INSTALL_HINT)
    return path


_OP_ROW = re.compile(r"^(?P<op>[A-Z][A-Z0-9_]+)\s+(?P<count>\d+)\s+(?P<status>.+)$")


def parse_log(text: str) -> tuple[int, int]:
    """(ops on the Edge TPU, ops on the CPU) from the compiler's operation table.

    Rows look like ``CONV_2D   62   Mapped to Edge TPU`` or ``LOGISTIC  1   Operation is otherwise supported, but
    not mapped due to some unspecified limitation``; the summary lines ``Number of operations that will run on
    Edge TPU: N`` win when present.
    """
    tpu = re.search(r"Number of operations that will run on Edge TPU:\s*(\d+)", text)
    cpu = re.search(r"Number of operations that will run on CPU:\s*(\d+)", text)
    if tpu and cpu:
        return int(tpu.group(1)), int(cpu.group(1))
    on_tpu = on_cpu = 0
    for line in text.splitlines():
        m = _OP_ROW.match(line.strip())
        if not m:
            continue
        if "Mapped to Edge TPU" in m["status"]:
            on_tpu += int(m["count"])
        else:
            on_cpu += int(m["count"])
    return on_tpu, on_cpu


def cpu_op_names(text: str) -> list[str]:
    """Operators the compiler's table says stay on the CPU, with the reason, e.g.
    ``SOFTMAX ×1 (Operation is otherwise supported, but not mapped …)``."""
    out = []
    for line in text.splitlines():
        m = _OP_ROW.match(line.strip())
        if m and "Mapped to Edge TPU" not in m["status"]:
            out.append(f"{m['op']} ×{m['count']} ({m['status'].strip()})")
    return out


def tflite2edgetpu(src: Path, out_dir: Path, timeout_s: int = 600) -> CompileResult:
    """Compile ``src`` (a full-INT8 TFLite) into ``out_dir``; a non-zero exit or a missing output is an error.

    The compiler is known to leave a stub ``*_edgetpu.tflite`` behind when it fails, so success is judged by the
    exit code first and the stub is removed.
    """
    exe = compiler_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = out_dir / f"{src.stem}_edgetpu.tflite"
    r = subprocess.run([exe, "-s", "-o", str(out_dir), str(src)], capture_output=True, text=True, timeout=timeout_s)
    text = r.stdout + r.stderr
    (out_dir / f"{src.stem}_edgetpu.compile.log").write_text(text)
    if r.returncode != 0:
        expected.unlink(missing_ok=True)
        last = (text.strip().splitlines() or ["(no output)"])[-1]
        raise EdgekitError(f"edgetpu_compiler failed (exit {r.returncode}) on {src.name}: {last[:200]}")
    if not expected.is_file() or expected.stat().st_size == 0:
        raise EdgekitError(f"edgetpu_compiler exited 0 but wrote no {expected.name}")
    tpu, cpu = parse_log(text)
    log.info("edgetpu_compiler: %d ops on the TPU, %d on the CPU", tpu, cpu)
    return CompileResult(expected, tpu, cpu, text, tuple(cpu_op_names(text)))
