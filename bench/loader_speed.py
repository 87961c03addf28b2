"""How fast training's data loading runs alone: photos decoded, random-resized-cropped and
flipped into batches, per CPU core, with no network behind it.

    python bench/loader_speed.py [--data ../shared/data/coco128] [--sizes 256 512] [--batches 40]

It builds the DataModule train.py builds (faststyle.training.data, the same decoding and
transforms) with --num-workers 0, so everything runs in this one process: images/s there is
the rate one core feeds. A GPU step needs that rate times the cores a GPU would have to keep
busy; compare it with the images/s of bench/train_speed.py on the same machine. The first
batch (the dataset's setup and first decodes) is left out of the timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import Printed, add_record_option, command_line, this_machine, write_record  # bench/ is not a package

from faststyle.training.config import TrainConfig
from faststyle.training.data import PhotoDataModule

ROOT = Path(__file__).resolve().parents[1]


def images_per_second(data: str, size: int, batch: int, batches: int) -> float:
    """Images/s of the train dataloader in this process (one core), after its first batch."""
    config = TrainConfig(data=data, image_size=size, batch_size=batch, num_workers=0, max_steps=batches + 1)
    module = PhotoDataModule(config)
    module.setup("fit")
    loader = iter(module.train_dataloader())
    next(loader)
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "coco128"), help="a folder or Hub id")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="crop sides (px)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=40, help="timed batches per size")
    add_record_option(p, "loader_speed")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # one core: the transforms' tensor ops must not spread over the others
    show = Printed()
    show(f"{this_machine()}; data {args.data}; batch {args.batch}; one process, one thread")
    show("| crop side | images/s per core |")
    show("|---|---|")
    for size in args.sizes:
        show(f"| {size} | {images_per_second(args.data, size, args.batch, args.batches):.1f} |")
    write_record(args.record, show.text(), ("loader",), command_line("loader_speed", argv), this_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
