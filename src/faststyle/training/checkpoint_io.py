"""Checkpoint writing that survives being killed mid-write.

Lightning's own save goes through an fsspec transaction whose temp file lives in the
system temp folder; when that is another filesystem, the final move is a copy, and a
kill during the copy leaves a truncated last.ckpt. Here the temp file sits beside the
target, is fsync'ed, and is renamed over it in one atomic step.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from faststyle.image_io import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: Any | None = None
    ) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
