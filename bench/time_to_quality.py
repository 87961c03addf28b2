"""Time to quality for a new style: from scratch against fine-tuning a multi-style base.

    python bench/time_to_quality.py --style ../shared/styles_extra/X.jpg [...] --base multistyle \
        --methods scratch,styles,all --minutes 1,2,5,10,30 -o runs/ttq

For every style and method, the model after the step counts that take 1, 2, 5, 10 and 30
minutes on this machine, each scored with `faststyle evaluate` on the content photos (loss,
style similarity, structure): snapshots of one run where the learning rate is constant or the
recipe has its own length (scratch), else one run per budget, as `--max-minutes M` would train
(its cosine decays over the M minutes). Methods:
    scratch  python train.py --style X --config configs/cpu.yaml (configs/cpu_fp32.yaml on a CPU without bf16)
    styles   python train.py --style X --base BASE                 (only the new style's norm rows and adapters train)
    all      python train.py --style X --base BASE --finetune all  (every weight trains)
A "minute" is a step budget: each method's steps per minute are measured first, alone, with a
short calibration run (its figure is printed and saved), so the runs themselves may share the
machine with other work without their results depending on it. Writes results.json, table.md
and time_to_quality.png (matplotlib, from the `bench` extra) into -o, and the table, with the
command, machine and date, to bench/results/time_to_quality.json (--record; bench/speed_record.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import add_record_option, command_line, write_record  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LR_ALL = 1e-3  # --finetune all: the paper's Adam rate
LABELS = {
    "scratch": "from scratch (configs/cpu.yaml or cpu_fp32.yaml)",
    "styles": "base + new style's norm rows and adapters (default)",
    "all": "base, every weight (--finetune all)",
}


class StepClock(L.Callback):
    """Seconds per step, measured between two step counts (after the warm-up)."""

    def __init__(self, start: int, stop: int):
        self.start, self.stop, self.t0, self.seconds_per_step = start, stop, 0.0, 0.0

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.start:
            self.t0 = time.perf_counter()
        elif trainer.global_step == self.stop:
            self.seconds_per_step = (time.perf_counter() - self.t0) / (self.stop - self.start)


class Snapshots(L.Callback):
    """Saves the model (the running average, with --ema-decay) when the run reaches each of `steps`."""

    def __init__(self, steps: dict[int, str], folder: Path):
        self.steps, self.folder = steps, folder

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        from faststyle.model.checkpoint import save_model

        label = self.steps.get(trainer.global_step)
        if label is not None and trainer.global_rank == 0:
            hp = dict(module.hparams)
            save_model(module.saved_net, self.folder / f"{label}.pth", hp["name"], hp, hp["styles"])


def method_config(method: str, style: Path, base: str | None, cpu_yaml: Path, **extra: Any) -> Any:
    from faststyle.training.config import TrainConfig
    from faststyle.training.config_sources import read_yaml

    settings: dict[str, Any] = {"style": [str(style)], "data": str(SHARED / "data" / "coco128"), "export": False}
    if method == "scratch":
        settings |= read_yaml(cpu_yaml)
    else:
        settings |= read_yaml(ROOT / "configs" / "finetune.yaml") | {"base": base, "finetune": method}
        if method == "all":  # every weight trains: the norm rows' learning rate would wreck the shared convs
            settings["lr"] = LR_ALL
    return TrainConfig(**(settings | extra))


def calibrate(method: str, style: Path, base: str | None, cpu_yaml: Path, folder: Path) -> float:
    """Steps per minute of `method` on this machine (run it alone for a fair figure)."""
    from faststyle.training.run import train

    clock = StepClock(10, 60)
    config = method_config(
        method,
        style,
        base,
        cpu_yaml,
        max_steps=60,
        checkpoint_dir=str(folder),
        log_dir=str(folder / "tb"),
        preview_every=0,
    )
    train(config, callbacks=[clock])
    return 60.0 / clock.seconds_per_step


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", nargs="+", required=True, type=Path, help="held-out style images")
    p.add_argument("--base", default="multistyle", help="the multi-style model to fine-tune")
    p.add_argument("--methods", default="scratch,styles,all")
    p.add_argument("--minutes", default="1,2,5,10,30")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the from-scratch recipe [default: configs/cpu.yaml, or configs/cpu_fp32.yaml on a CPU without bf16]",
    )
    p.add_argument("--content", type=Path, default=SHARED / "content")
    p.add_argument("-o", "--output", type=Path, default=Path("runs/ttq"))
    add_record_option(p, "time_to_quality")
    args = p.parse_args(argv)
    os.environ.setdefault("FASTSTYLE_VGG_WEIGHTS", str(SHARED / "weights" / "vgg16_imagenet_features.pth"))

    from faststyle.cpu import cpu_has_bf16, cpu_summary
    from faststyle.quality.evaluate import EvaluateRequest, evaluate
    from faststyle.training.run import train

    if args.config is None:  # the 30-minute recipe for this CPU: bf16 trains 256 px crops in that time
        args.config = ROOT / "configs" / ("cpu.yaml" if cpu_has_bf16() else "cpu_fp32.yaml")
    minutes = [float(m) for m in args.minutes.split(",")]
    methods = args.methods.split(",")
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "results.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if saved.is_file() else {"rates": {}, "runs": {}}
    results.setdefault("machine", cpu_summary())  # the rates, and so every "minute", belong to this CPU
    for method in methods:  # steps per minute, each measured alone before anything else runs
        if method not in results["rates"]:
            folder = out / "calibrate" / method
            results["rates"][method] = calibrate(method, args.style[0], args.base, args.config, folder)
            saved.write_text(json.dumps(results, indent=1))
        print(f"{method}: {results['rates'][method]:.1f} steps/min")
    for style in args.style:
        for method in methods:
            key = f"{style.stem}/{method}"
            if key in results["runs"]:
                continue
            rate = results["rates"][method]
            marks = {max(1, round(m * rate)): f"min{m:g}" for m in minutes}
            folder = out / style.stem / method
            config = method_config(
                method,
                style,
                args.base,
                args.config,
                checkpoint_dir=str(folder),
                log_dir=str(out / "tb"),
                preview_every=0,
            )
            if method == "scratch":  # the recipe runs its own length; snapshots within it, and its end
                marks = {s: label for s, label in marks.items() if s < config.max_steps}
                marks[config.max_steps] = f"min{config.max_steps / rate:.3g}"
                train(config, callbacks=[Snapshots(marks, folder)])
            elif config.lr_schedule == "constant":  # one run: its snapshots are what shorter runs would give
                train(dataclasses.replace(config, max_steps=max(marks)), callbacks=[Snapshots(marks, folder)])
            else:  # a decaying rate ends each budget settled, as `--max-minutes M` would: one run per budget
                for step, label in marks.items():
                    if not (folder / f"{label}.pth").is_file():
                        run = dataclasses.replace(config, max_steps=step, checkpoint_dir=str(folder / label))
                        train(run, callbacks=[Snapshots({step: label}, folder)])
            scores = {}
            for step, label in sorted(marks.items()):
                request = EvaluateRequest(
                    folder / f"{label}.pth",
                    args.content,
                    style,
                    size=256,
                    gatys_steps=(),
                    out_dir=folder / f"eval_{label}",
                    timing_runs=1,
                )
                report = evaluate(request)
                scores[label] = {"step": step, "minutes": step / rate, **report["mean"]["model"]}
            results["runs"][key] = scores
            saved.write_text(json.dumps(results, indent=1))
    write_table(results, out / "table.md")
    table = (out / "table.md").read_text()
    print(table)
    # the machine whose steps per minute made every "minute" (the first run's, where runs resumed)
    write_record(args.record, table, ("scores",), command_line("time_to_quality", argv), results["machine"])
    try:
        import matplotlib  # noqa: F401  (only to know whether the plot can be drawn)
    except ImportError:  # the scores are already saved; a missing plot library must not lose them
        print("no plot: matplotlib is not installed (pip install -e '.[bench]'), table.md and results.json are written")
        return 0
    plot(results, out / "time_to_quality.png")
    return 0


def write_table(results: dict[str, Any], path: Path) -> None:
    lines = [
        f"{results.get('machine', 'machine not recorded')}; steps per minute: "
        + ", ".join(f"{method} {rate:.1f}" for method, rate in results["rates"].items()),
        "",
        "| style | method | minutes | steps | loss | style similarity | structure |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, scores in results["runs"].items():
        style, method = key.split("/")
        for s in sorted(scores.values(), key=lambda s: s["minutes"]):
            lines.append(
                f"| {style} | {method} | {s['minutes']:.1f} | {s['step']} | {s['loss']:.3f} "
                f"| {s['style_similarity']:.3f} | {s['structure']:.3f} |"
            )
    path.write_text("\n".join(lines) + "\n")


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = sorted({k.split("/")[0] for k in results["runs"]})
    # each style its own scale: losses of different styles are not comparable with each other
    fig, axes = plt.subplots(1, len(styles), figsize=(4.2 * len(styles), 3.4), squeeze=False)
    for ax, style in zip(axes[0], styles, strict=True):
        for key, scores in results["runs"].items():
            if key.startswith(f"{style}/"):
                points = sorted((s["minutes"], s["loss"]) for s in scores.values())
                ax.plot(*zip(*points, strict=True), marker="o", label=LABELS[key.split("/")[1]])
        scratch = results["runs"].get(f"{style}/scratch")
        if scratch:  # the target: from scratch's loss at the end of its recipe
            end = max(scratch.values(), key=lambda s: s["minutes"])["loss"]
            ax.axhline(end, color="grey", linestyle="--", linewidth=0.8, label="from scratch, its end")
            ax.axhline(0.85 * end, color="grey", linestyle=":", linewidth=0.8, label="15% below it (30-minute target)")
        ax.set_xscale("log")
        ax.set_xticks([1, 2, 5, 10, 30], ["1", "2", "5", "10", "30"])
        ax.set_title(style, fontsize=9)
        ax.set_xlabel("minutes of training (this CPU)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("evaluate loss (lower is better)")
    labelled = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    # every method, whichever panel has it; see-through, as it often sits over a curve
    axes[0][0].legend(labelled.values(), labelled.keys(), fontsize=7, framealpha=0.6)
    # the CPU line is wider than one panel: wrapped, not cut off at the figure's edges
    fig.suptitle(textwrap.fill(results.get("machine", ""), width=58 * len(styles)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
