"""Checkpoint writing that survives being killed mid-write, and reading that runs nothing.

Lightning's own save goes through an fsspec transaction whose temp file lives in the
system temp folder; when that is another filesystem, the final move is a copy, and a
kill during the copy leaves a truncated last.ckpt. Here the temp file sits beside the
target, is fsync'ed, and is renamed over it in one atomic step.

One run at a time owns a checkpoint folder: a second run started into it while the first is
alive would interleave their last.ckpt and overwrite the first's model, so it is refused
(an OS file lock, released by the OS however the first run ends).

A checkpoint is a pickle, and checkpoints get shared: `--resume` reads one with torch's
weights-only unpickler (tensors, numbers, strings and containers), which is all a run of ours
writes, so a file carrying code is refused, in one line, before anything of it runs. What it
reads comes in the current format (faststyle.model.checkpoint_format), whichever wrote it.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from faststyle.errors import UserError
from faststyle.model.checkpoint import write_torch
from faststyle.model.checkpoint_format import upgrade


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint's contents, read without running any code it may carry, in the
    current format; one line for a file of a newer one."""
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
    return upgrade(saved, str(path))


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: Any | None = None
    ) -> None:
        had = Path(path).is_file()  # the last good checkpoint, left untouched by a failed write
        try:
            write_torch(checkpoint, path, durable=True)
        except UserError as e:
            then = (
                "the previous checkpoint there is intact: free some space and run the same command with --resume"
                if had
                else "free some space and run the same command again"
            )
            raise UserError(f"{e} at step {checkpoint.get('global_step', '?')}; {then}") from None


LOCK_NAME = ".faststyle-run.lock"


@contextmanager
def hold_run_folder(folder: Path) -> Iterator[None]:
    """Own `folder` for the duration of a run, or refuse in one line if another run owns it.

    Only the launching process (global rank 0 on node 0) takes it: the other ranks of a
    distributed run share the folder by design and would otherwise lock each other out.
    """
    if _launch_rank() != 0:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(folder / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise UserError(
            f"{folder} is in use by another training run that is still going; wait for it to end, "
            "or pass another --checkpoint-dir"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _launch_rank() -> int:
    # torchrun and SLURM set RANK / SLURM_PROCID; Lightning's own launcher marks the processes it
    # starts with LOCAL_RANK > 0, and a multi-node launch by hand gives other nodes NODE_RANK > 0.
    for variable in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        value = os.environ.get(variable, "0")
        if value.isdigit() and int(value) != 0:
            return int(value)
    return 0
