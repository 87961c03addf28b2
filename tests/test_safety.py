"""Files a user is handed run no code and write nowhere else: a checkpoint carrying a pickle
payload is refused, and a name stored in a model never becomes a path."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import train_args

from faststyle.commands.train import main as train_main


class Payload:
    """Unpickling this calls os.mkdir(marker): the proof that a loader ran the file's code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def resume(tmp_path, shared, photos) -> list[str]:
    return train_args(shared, photos, tmp_path / "ck", "--resume")


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


@pytest.mark.parametrize("loader", ["stylize", "base", "export", "evaluate", "vgg"])
def test_a_malicious_model_file_runs_nothing(loader, tmp_path, shared, photos, capsys):
    marker = tmp_path / "pwned"
    model = tmp_path / "evil.pth"
    torch.save({"format": "faststyle-model", "state_dict": Payload(str(marker))}, model)
    if loader == "stylize":
        from faststyle.commands.stylize import main as stylize_main

        rc = stylize_main([str(shared / "content" / "chicago.jpg"), "-m", str(model), "-o", str(tmp_path / "o.jpg")])
    elif loader in ("export", "evaluate"):
        from faststyle.commands.cli import main as faststyle_main

        photo, painting = str(shared / "content" / "chicago.jpg"), str(shared / "styles" / "mosaic.jpg")
        given = ["-m", str(model), "--content", photo, "--style", painting] if loader == "evaluate" else [str(model)]
        rc = faststyle_main([loader, *given, "-o", str(tmp_path / "o")])
    else:
        args = resume(tmp_path, shared, photos)[:-1]
        flag = "--base" if loader == "base" else "--vgg-weights"
        rc = train_main([*args, flag, str(model), "--max-steps", "1"])
    assert not marker.exists(), "the model file's code ran"
    assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


# --- names read from a file never become paths ---------------------------------------------


def tiny_model(path, name: str):
    from faststyle.model.checkpoint import save_model
    from faststyle.model.transform_net import TransformNet

    return save_model(TransformNet("tiny"), path, name, {"arch": "tiny"})


@pytest.mark.parametrize("stored", ["..", ".", "/tmp/faststyle-outside/x", ""])
def test_a_stored_model_name_never_leads_outside_the_folder(stored, tmp_path, monkeypatch, capsys):
    from faststyle.commands.export import main as export_main

    work = tmp_path / "work"
    (work / "repo" / "other_model" / "1").mkdir(parents=True)
    (work / "mine.txt").write_text("the user's")
    model = tiny_model(work / "evil.pth", stored)
    monkeypatch.chdir(work)
    assert export_main([str(model), "--triton", "repo", "--overwrite", "--no-verify"]) == 0
    assert export_main([str(model), "--overwrite", "--no-verify"]) == 0
    assert (work / "mine.txt").read_text() == "the user's" and (work / "repo" / "other_model" / "1").is_dir()
    made = [p for p in (work / "repo").iterdir() if p.name != "other_model"]
    assert len(made) == 1 and (made[0] / "1" / "model.onnx").is_file()  # one folder, inside the repository
    assert len(list((work / "export").glob("*.onnx"))) == 1  # and the plain export inside export/
    assert not any(p.suffix == ".onnx" for p in tmp_path.iterdir()) and not os.path.exists("/tmp/faststyle-outside")


def test_triton_overwrite_replaces_only_its_own_files(tmp_path, monkeypatch):
    from faststyle.commands.export import main as export_main

    model = tiny_model(tmp_path / "m.pth", "m")
    repo = tmp_path / "repo"
    assert export_main([str(model), "--triton", str(repo), "--no-verify"]) == 0
    (repo / "m" / "2").mkdir()
    (repo / "m" / "2" / "model.onnx").write_text("the user's version 2")
    (repo / "m" / "notes.txt").write_text("the user's notes")
    before = (repo / "m" / "1" / "model.onnx").stat().st_mtime_ns
    assert export_main([str(model), "--triton", str(repo), "--overwrite", "--no-verify"]) == 0
    assert (repo / "m" / "2" / "model.onnx").read_text() == "the user's version 2"
    assert (repo / "m" / "notes.txt").read_text() == "the user's notes"
    assert (repo / "m" / "1" / "model.onnx").stat().st_mtime_ns >= before and (repo / "m" / "config.pbtxt").is_file()


# --- one Stylizer shared by threads gives each its own pixels ---------------------------------

ENGINES = [("ort", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"), ("torch", "fp32")]


@pytest.mark.parametrize("backend, precision", ENGINES)
def test_a_stylizer_shared_by_8_threads_gives_each_call_its_own_pixels(backend, precision, model_pth, model_onnx):
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    from conftest import photo_array

    from faststyle.cpu import cpu_has_bf16
    from faststyle.inference.load import load_stylizer

    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16")
    stylizer = load_stylizer(model_pth if backend == "torch" else model_onnx, backend, "cpu", precision=precision)
    photos = [photo_array(64 + 8 * (i % 3), 48, seed=i) for i in range(32)]
    serial = [stylizer(p) for p in photos]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(stylizer, photos))
    assert all(np.array_equal(a, b) for a, b in zip(serial, threaded, strict=True))
