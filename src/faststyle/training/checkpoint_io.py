"""Checkpoint writing that survives being killed mid-write, and reading that runs nothing.

Lightning's own save goes through an fsspec transaction whose temp file lives in the
system temp folder; when that is another filesystem, the final move is a copy, and a
kill during the copy leaves a truncated last.ckpt. Here the temp file sits beside the
target, is fsync'ed, and is renamed over it in one atomic step.

A checkpoint is a pickle, and checkpoints get shared: `--resume` reads one with torch's
weights-only unpickler (tensors, numbers, strings and containers), which is all a run of ours
writes, so a file carrying code is refused, in one line, before anything of it runs.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from faststyle.errors import UserError
from faststyle.image_io import atomic_path


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint's contents, read without running any code it may carry."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(
            f"{path}: holds objects a faststyle checkpoint never does (a pickle that could run code), so it "
            "was not loaded; resume only from checkpoints you trust, or start the run again without --resume"
        ) from None
    except (EOFError, RuntimeError, OSError, ValueError) as e:
        reason = " ".join(str(e).split())[:120] or type(e).__name__
        raise UserError(
            f"{path}: cannot be read ({reason}): truncated or damaged; restore a good copy, or start the "
            "run again without --resume"
        ) from None
    if not isinstance(saved, dict) or "hyper_parameters" not in saved:
        raise UserError(f"{path}: not a faststyle training checkpoint (no hyper_parameters inside)")
    return saved


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: Any | None = None
    ) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
