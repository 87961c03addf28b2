"""`faststyle train`: the same as `python train.py`."""

from __future__ import annotations


def main(argv: list[str] | None = None, prog: str = "faststyle train") -> int:
    from faststyle.training.config import main as train_main

    return train_main(argv)
