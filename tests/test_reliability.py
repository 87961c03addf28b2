"""Training faults: NaN losses, kill -9 then --resume, determinism across worker counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import FAST, ckpt_step, net_params
from conftest import train_args as args

from faststyle.commands.train import main as train_main
from faststyle.model.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(
    tmp_path, shared, photos, monkeypatch, capsys
):
    from faststyle.loss.perceptual import PerceptualLoss

    real_forward = PerceptualLoss.forward
    calls = {"n": 0}

    def poisoned(self, output, content, *args, **kwargs):
        calls["n"] += 1
        terms = real_forward(self, output, content, *args, **kwargs)
        if calls["n"] >= 3:  # steps 1 and 2 are fine, step 3 diverges
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(PerceptualLoss, "forward", poisoned)
    ck = tmp_path / "ck"
    code = train_main(args(shared, photos, ck, "--max-steps", "6", "--checkpoint-every", "1"))
    err = capsys.readouterr().err
    assert code == 2
    # the advice is one a user can follow: --resume refuses another --lr, so it points to a new run
    assert "nan" in err.lower() and "--base" in err and "last.ckpt" in err
    assert ckpt_step(ck / "last.ckpt") == 2
    net = load_model(ck / "last.ckpt").net
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert not (ck / "mosaic.pth").exists(), "no final model from a diverged run"


@pytest.mark.slow
def test_same_seed_same_weights_whatever_the_worker_count(tmp_path, shared, photos):
    a, b = tmp_path / "a" / "ck", tmp_path / "b" / "ck"
    assert train_main(args(shared, photos, a, "--max-steps", "3")) == 0
    extra = [f for f in FAST if f not in ("--num-workers", "0")]
    assert (
        train_main(
            [
                "--style",
                str(shared / "styles" / "mosaic.jpg"),
                "--data",
                str(photos),
                "--checkpoint-dir",
                str(b),
                "--log-dir",
                str(tmp_path / "b" / "runs"),
                *extra,
                "--num-workers",
                "2",
                "--max-steps",
                "3",
            ]
        )
        == 0
    )
    assert torch.equal(net_params(a / "last.ckpt"), net_params(b / "last.ckpt"))


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path, shared, photos):
    steps = 16
    straight = tmp_path / "straight" / "ck"
    assert train_main(args(shared, photos, straight, "--max-steps", str(steps))) == 0

    ck = tmp_path / "killed" / "ck"
    # The victim is told to run far longer, so it cannot finish before the kill on a fast machine;
    # the resume then stops at `steps` (the default constant lr does not depend on max-steps).
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        *args(shared, photos, ck, "--max-steps", "100000", "--checkpoint-every", "1"),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    deadline = time.time() + 300
    try:
        while time.time() < deadline:  # wait until a few steps are checkpointed, then kill hard
            last = ck / "last.ckpt"
            if last.exists():
                try:
                    if ckpt_step(last) >= 3:
                        break
                except Exception:
                    pass  # being replaced right now; atomic rename means we retry, never read half
            if proc.poll() is not None:
                pytest.fail("training ended before it could be killed")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_at = ckpt_step(ck / "last.ckpt")  # loads: never a truncated file
    assert 3 <= killed_at < steps

    assert train_main(args(shared, photos, ck, "--max-steps", str(steps), "--resume")) == 0
    assert ckpt_step(ck / "last.ckpt") == steps
    assert torch.equal(net_params(straight / "last.ckpt"), net_params(ck / "last.ckpt"))


def test_a_checkpoint_write_killed_midway_leaves_the_old_one_intact(tmp_path, monkeypatch):
    from faststyle.training.checkpoint_io import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"global_step": 1, "w": torch.ones(1000)}, target)

    def dies_halfway(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt  # what a kill looks like from inside the writer

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=False)["global_step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"], "no temp file left behind"


def test_weights_with_nan_are_never_written(tmp_path):
    """On accelerators the loss is checked every few steps; the save itself is always guarded."""
    from faststyle.errors import UserError
    from faststyle.training.config import TrainConfig
    from faststyle.training.system import StyleTransferSystem

    system = StyleTransferSystem.from_config(TrainConfig(style="unused.jpg", arch="tiny"))
    system.on_save_checkpoint({"state_dict": system.state_dict()})  # finite weights: fine
    with torch.no_grad():
        next(system.net.parameters())[0] = float("nan")
    with pytest.raises(UserError, match="--resume"):
        system.on_save_checkpoint({"state_dict": system.state_dict()})


def test_a_base_run_that_moved_the_base_styles_is_stopped_not_shipped():
    from faststyle.style_record import with_stroke_scale
    from faststyle.training.callbacks import FrozenRows
    from faststyle.training.config import TrainConfig
    from faststyle.training.styles import StylePlan, norm_row_keys
    from faststyle.training.system import StyleTransferSystem

    styles = with_stroke_scale([{"name": n, "image": None, "style_size": None} for n in ("base", "new")])
    system = StyleTransferSystem.from_config(
        TrainConfig(style="unused.jpg", arch="tiny"), StylePlan(styles, [1], frozen_rows=1)
    )
    guard = FrozenRows()
    guard.on_train_start(None, system)  # type: ignore[arg-type]
    row = dict(system.net.named_parameters())[sorted(norm_row_keys(system.net))[0]]
    with torch.no_grad():
        row[1] += 1.0  # the new style's row may move
    guard.on_train_end(None, system)  # type: ignore[arg-type]
    with torch.no_grad():
        row[0] += 1e-6  # the base's may not, by any amount
    with pytest.raises(RuntimeError, match="base model's style rows changed"):
        guard.on_train_end(None, system)  # type: ignore[arg-type]
