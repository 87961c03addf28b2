"""`faststyle batch --engine ray`: the same job as a Ray Data pipeline, as a user runs it on a cluster.

    read_binary_files (the missing outputs' inputs, with their paths)
      -> map_batches(Stylize): one stylizer (ONNX Runtime or OpenVINO session) per actor, which
         stylizes each file's bytes as the local engine stylizes the file (so a broken file is one
         line, not a failed job, and the pixels are the same: EXIF turned upright, transparency
         on white, every frame of an animation)
      -> each actor writes its outputs atomically, as the local engine does; rows report back

Locally `ray.init` starts a Ray instance with one CPU slot per worker and one for reading; on a cluster, connect first
(RAY_ADDRESS) and the same pipeline spreads over its nodes. Folder inputs only: a dataset is
already a table, and its users run Ray on it directly.
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from faststyle.errors import UserError
from faststyle.inference.batch import Item, Report, Settings, problem_line, style_of, worker_stylizer
from faststyle.inference.pipeline import stylize_path


class Stylize:
    """A Ray Data actor: builds its stylizer once, then stylizes and writes batch after batch."""

    def __init__(self, settings: Settings, dests: dict[str, tuple[str, str, str]]):
        self.stylizer = worker_stylizer(settings)
        self.settings, self.dests = settings, dests

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        problems = []
        for data, path in zip(batch["bytes"], batch["path"], strict=True):
            dest, key, source = self.dests[path]
            try:  # the style seeded by the item's key, as the local engine does: both give one picture
                weights = style_of(self.settings.style, key, self.stylizer.styles, self.settings.seed)
                stylize = partial(self.stylizer, weights=weights)
                stylize_path(stylize, source, dest, self.settings.options, data=bytes(data))
                problems.append("")
            except Exception as e:  # reported by the driver as one line, like the local engine
                problems.append(problem_line(source, e))
        return {"problem": np.array(problems, dtype=object)}


def run_ray(items: list[Item], settings: Settings, workers: int, progress: bool = True) -> Report:
    try:
        import ray
    except ImportError:
        raise UserError("--engine ray needs Ray (pip install 'faststyle-transfer[ray]')") from None
    if settings.source.dataset:
        raise UserError("--engine ray takes a folder of images; run a dataset with the local engine")
    todo = [item for item in items if not item.dest.exists()]
    report = Report(skipped=len(items) - len(todo))
    if not todo:
        return report
    start = time.perf_counter()
    if os.environ.get("RAY_ADDRESS"):  # a cluster: its own resources
        ray.init(ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
    else:  # one CPU slot per stylizing actor, and one more for the reading tasks, which else never run
        ray.init(
            num_cpus=workers + 1,
            include_dashboard=False,
            ignore_reinit_error=True,
            log_to_driver=False,
            configure_logging=False,
        )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    ctx.verbose_stats_logs = False
    # Ray may report a file under a normalized path: match outputs on the resolved path.
    dests = {str(Path(i.source).resolve()): (str(i.dest), i.key, i.source) for i in todo}
    images = ray.data.read_binary_files([i.source for i in todo], include_paths=True)
    images = images.map(lambda row: {**row, "path": str(Path(row["path"]).resolve())})
    results = images.map_batches(
        Stylize, fn_constructor_args=(settings, dests), batch_size=4, concurrency=workers, num_cpus=1
    )
    try:
        for row in results.iter_rows():
            if row["problem"]:
                report.failed.append(row["problem"])
            else:
                report.written += 1
    finally:
        if not os.environ.get("RAY_ADDRESS"):
            ray.shutdown()  # the local instance ends with the job
    report.seconds = time.perf_counter() - start
    return report
