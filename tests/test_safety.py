"""Files a user is handed run no code: a checkpoint carrying a pickle payload is refused."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import FAST

from faststyle.commands.train import main as train_main


class Payload:
    """Unpickling this calls os.mkdir(marker): the proof that a loader ran the file's code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def resume(tmp_path, shared, photos) -> list[str]:
    return [
        "--style",
        str(shared / "styles" / "mosaic.jpg"),
        "--data",
        str(photos),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--log-dir",
        str(tmp_path / "runs"),
        *FAST,
        "--resume",
    ]


def test_resume_from_a_malicious_checkpoint_runs_nothing(tmp_path, shared, photos, capsys):
    (tmp_path / "ck").mkdir()
    marker = tmp_path / "pwned"
    torch.save({"hyper_parameters": Payload(str(marker)), "global_step": 1}, tmp_path / "ck" / "last.ckpt")
    rc = train_main(resume(tmp_path, shared, photos))
    err = capsys.readouterr().err.strip()
    assert not marker.exists(), "the checkpoint's code ran"
    assert rc == 2 and len(err.splitlines()) == 1 and "could run code" in err


def test_resume_from_a_truncated_checkpoint_is_one_line(tmp_path, shared, photos, capsys):
    (tmp_path / "ck").mkdir()
    whole = tmp_path / "whole.ckpt"
    torch.save({"hyper_parameters": {"seed": 0}, "global_step": 1, "state_dict": {"w": torch.zeros(64, 64)}}, whole)
    (tmp_path / "ck" / "last.ckpt").write_bytes(whole.read_bytes()[:2000])
    rc = train_main(resume(tmp_path, shared, photos))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "truncated or damaged" in err


@pytest.mark.parametrize("loader", ["stylize", "base"])
def test_a_malicious_model_file_runs_nothing(loader, tmp_path, shared, photos, capsys):
    marker = tmp_path / "pwned"
    model = tmp_path / "evil.pth"
    torch.save({"format": "faststyle-model", "state_dict": Payload(str(marker))}, model)
    if loader == "stylize":
        from faststyle.commands.stylize import main as stylize_main

        rc = stylize_main([str(shared / "content" / "chicago.jpg"), "-m", str(model), "-o", str(tmp_path / "o.jpg")])
    else:
        args = resume(tmp_path, shared, photos)[:-1]
        rc = train_main([*args, "--base", str(model), "--max-steps", "1"])
    assert not marker.exists(), "the model file's code ran"
    assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
