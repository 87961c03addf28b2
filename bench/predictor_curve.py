"""The predictor's training curve, from a run's TensorBoard logs: mean losses per window of steps.

    python bench/predictor_curve.py RUN/logs [--window 250] [--machine "..."] [-o bench/results/predictor_training.json]
    python bench/predictor_curve.py RUN2/logs --continues 4800 ...   (a run warm-started from step 4,800's model)

Every event file under RUN/logs is read (a resumed run writes one per resume), steps in order,
a later file's steps replacing an earlier one's (the steps a killed run logged after its last
checkpoint are run again). `table(record)` renders it for docs/predictor.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TAGS = ("loss/style", "loss/content", "loss/known")


def read_curve(logs: Path) -> dict[str, dict[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    curve: dict[str, dict[int, float]] = {tag: {} for tag in TAGS}
    files = sorted(logs.rglob("events.out.tfevents.*"), key=lambda f: f.stat().st_mtime)
    for file in files:
        events = EventAccumulator(str(file))
        events.Reload()
        for tag in TAGS:
            if tag in events.Tags()["scalars"]:
                curve[tag].update({e.step: e.value for e in events.Scalars(tag)})
    return curve


def windows(curve: dict[str, dict[int, float]], window: int, first: int = 0) -> list[dict[str, Any]]:
    last = max((max(points) for points in curve.values() if points), default=0)
    rows = []
    for start in range(first, last + 1, window):
        row: dict[str, Any] = {"steps": f"{start}-{start + window - 1}"}
        for tag, points in curve.items():
            values = [v for s, v in points.items() if start <= s < start + window]
            row[tag.split("/")[1]] = round(sum(values) / len(values), 3) if values else None
        rows.append(row)
    return rows


def table(record: dict[str, Any]) -> str:
    lines = [
        f"Mean losses per {record['window']} steps of four 256 px crops, each with its own painting. "
        f"Machine: {record['machine']}. {record['note']}",
        "",
        "| steps | style | content | known styles |",
        "|---|---|---|---|",
    ]
    for row in record["rows"]:
        cells = ["" if row[k] is None else f"{row[k]:.3f}" for k in ("style", "content", "known")]
        lines.append(f"| {row['steps']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", type=Path)
    p.add_argument("--window", type=int, default=250)
    p.add_argument("--machine", required=True, help="the machine the run trained on, in words")
    p.add_argument("--note", default="", help="what changed along the run, in words")
    p.add_argument(
        "--continues",
        type=int,
        default=0,
        metavar="STEPS",
        help="the run started from the model of an earlier run at this step (--base with a predictor): its steps "
        "count on from there, after the earlier run's rows already in --output (the later ones replaced)",
    )
    p.add_argument("-o", "--output", type=Path, default=ROOT / "bench" / "results" / "predictor_training.json")
    args = p.parse_args(argv)
    shift = args.continues
    curve = {tag: {step + shift: v for step, v in points.items()} for tag, points in read_curve(args.logs).items()}
    rows = windows(curve, args.window, shift)
    record: dict[str, Any] = {"machine": args.machine, "window": args.window, "note": args.note, "rows": rows}
    if shift:
        if not args.output.is_file():
            raise SystemExit(f"--continues: no {args.output} holding the earlier run's curve")
        earlier = json.loads(args.output.read_text())
        if earlier["window"] != args.window or shift % args.window:
            raise SystemExit(f"--continues {shift}: must be a multiple of {args.output}'s window ({earlier['window']})")
        first = earlier.get("earlier_note", earlier["note"])  # kept apart: a refresh does not repeat it
        kept = [r for r in earlier["rows"] if int(r["steps"].split("-")[0]) < shift]
        record |= {"note": f"{first} {args.note}".strip(), "earlier_note": first, "rows": kept + rows}
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
