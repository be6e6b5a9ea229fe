"""The accuracy gate: score an export against its FP32 source, and retry INT8 with sensitive nodes in float."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgekit.export import evaluate, quantize
from edgekit.export.report import Accuracy, Attempt
from edgekit.export.valset import Sample

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Reference:
    """The FP32 source's outputs and accuracy on the validation samples (computed once per export)."""

    samples: list[Sample]
    run: evaluate.Run
    accuracy: Accuracy
    labels: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def reference(path: Path, samples: list[Sample], labels: list[str], progress: Progress | None = None) -> Reference:
    """Run the FP32 source over the validation samples once: the outputs and scores every attempt is judged by."""
    run = evaluate.run_model(path, samples, progress=_bind(progress, "validate fp32 source"))
    return Reference(samples, run, Accuracy(**evaluate.coco_map(samples, run.dets, labels)), labels)


def _bind(progress: Progress | None, label: str) -> Callable[[int, int], None] | None:
    return None if progress is None else (lambda i, n: progress(label, i, n))


def score(
    ref: Reference,
    path: Path,
    name: str,
    max_map_drop: float,
    box_scale: float = 1.0,
    progress: Progress | None = None,
) -> Attempt:
    """Evaluate ``path`` on the reference samples: mAP, drop against the source, and output parity."""
    run = evaluate.run_model(path, ref.samples, box_scale=box_scale, progress=_bind(progress, f"validate {name}"))
    acc = Accuracy(**evaluate.coco_map(ref.samples, run.dets, ref.labels))
    drop = round(ref.accuracy.map50_95 - acc.map50_95, 2)
    return Attempt(
        name=name,
        accuracy=acc,
        map_drop=drop,
        parity=evaluate.parity(ref.run, run, ref.num_classes),
        passed=drop <= max_map_drop,
        artifact=str(path),
    )


def head_nodes(path: Path) -> list[str]:
    """The decode tail plus the last layers of each head branch (the per-scale Concat/Reshape and the Convs
    feeding them): the widest float set tried before giving up."""
    graph = quantize._graph(path)
    producer = {o: n for n in graph.node for o in n.output}
    tail = quantize.decode_tail_nodes(path)
    merge = next((n for n in graph.node if n.name == tail[0]), None)
    extra: list[str] = []
    if merge is not None and merge.op_type == "Concat":
        for r in (producer.get(i) for i in merge.input):
            if r is None:
                continue
            extra.append(r.name)
            c = producer.get(r.input[0])
            if c is not None and c.op_type == "Concat":
                extra.append(c.name)
                extra += [producer[i].name for i in c.input if i in producer and producer[i].op_type == "Conv"]
    return [*extra, *[n for n in tail if n not in extra]]


def int8_plans(pre: Path) -> list[tuple[str, list[str]]]:
    """The attempts, cheapest first: full INT8, then the decode tail in float, then the whole head's end."""
    return [
        ("int8-full", []),
        ("int8-decode-tail-float", quantize.decode_tail_nodes(pre)),
        ("int8-head-float", head_nodes(pre)),
    ]


def ladder(
    plans: list[tuple[str, list[str]]], reduce_range: bool, moving_average: bool = True
) -> list[tuple[str, list[str], bool, bool]]:
    """Every rung in order as (name, nodes in float, 7-bit weights, moving-average ranges): the ``plans`` at the
    preferred width, their float-kept plans at 7 bits when that width was 8, then (``moving_average``) the
    float-kept plans again at each width with moving-average calibration ranges.

    Examples:
        >>> [r[0] for r in ladder([("int8-full", []), ("int8-tail", ["n"])], reduce_range=False)]
        ['int8-full', 'int8-tail', 'int8-tail-7bit', 'int8-tail-movavg', 'int8-tail-movavg-7bit']
    """
    widths = [reduce_range] if reduce_range else [False, True]
    rungs = [(name, exclude, reduce_range, False) for name, exclude in plans]
    rungs += [(f"{name}-7bit", exclude, True, False) for name, exclude in plans if exclude and not reduce_range]
    if moving_average:
        for rr in widths:
            suffix = "-movavg-7bit" if rr and not reduce_range else "-movavg"
            rungs += [(f"{name}{suffix}", exclude, rr, True) for name, exclude in plans if exclude]
    return rungs


WEIGHTS_7BIT = "7-bit weights (reduce_range)"
WEIGHTS_8BIT = "8-bit weights"


def gate_int8_onnx(
    ref: Reference,
    src: Path,
    out: Path,
    input_name: str,
    calib: npt.NDArray[np.float32],
    *,
    method: str = "minmax",
    per_channel: bool = True,
    reduce_range: bool = True,
    max_map_drop: float = 1.0,
    progress: Progress | None = None,
) -> list[Attempt]:
    """Quantize ``src`` to INT8 QDQ, trying each plan until one passes the gate; the passing model is at ``out``.

    With full 8-bit weights (``reduce_range=False``) the plans that keep nodes in float are tried again with 7-bit
    weights when no 8-bit one passes: the width the target's CPU allows is preferred, not forced past the gate.
    With ``minmax`` calibration, the float-kept plans are then tried once more (both widths) with moving-average
    ranges (``-movavg``): the plain min/max of a few frames lets one outlier frame widen a range for every frame.
    Every attempt is returned (with the nodes it kept in float and its weight width in ``note``) so the report
    shows what each one scored.
    """
    work = quantize.scratch_dir(out.parent)
    try:
        pre = quantize.preprocess(src, work / "pre.onnx")
        plans = ladder(int8_plans(pre), reduce_range, moving_average=method == "minmax")
        attempts: list[Attempt] = []
        for name, exclude, rr, movavg in plans:
            # activation ranges only: shared by every plan and weight width of one calibration kind
            cache = work / f"calibration{'-movavg' if movavg else ''}.json"
            cand = work / f"{name}.onnx"
            if progress:
                progress(f"quantize {name}", 0, 1)
            quantize.quantize_onnx(
                pre,
                cand,
                input_name,
                calib,
                method=method,
                per_channel=per_channel,
                exclude=exclude,
                cache=cache,
                reduce_range=rr,
                moving_average=movavg,
            )
            a = score(ref, cand, name, max_map_drop, progress=progress)
            a.nodes_in_float = exclude
            a.note = WEIGHTS_7BIT if rr else WEIGHTS_8BIT
            attempts.append(a)
            log.info("%s: mAP50-95 %s (drop %s), passed=%s", name, a.accuracy, a.map_drop, a.passed)
            if a.passed:
                cand.replace(out)
                a.artifact = str(out)
                break
        else:
            # Keep the best failing candidate for inspection, under a name that says it failed.
            best = max(attempts, key=lambda a: a.accuracy.map50_95 if a.accuracy else -1.0)
            failed = out.with_name(out.stem + ".FAILED.onnx")
            Path(best.artifact or "").replace(failed)
            best.artifact = str(failed)
        for a in attempts:
            if a.artifact and not Path(a.artifact).is_file():
                a.artifact = None
        return attempts
    finally:
        shutil.rmtree(work, ignore_errors=True)
