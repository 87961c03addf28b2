"""Training, as a user runs it: train.py flags, checkpoints, exact resume, DDP, bad data."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import FAST, ckpt_step, net_params, train_args

from faststyle.commands.train import main as train_main
from faststyle.model.checkpoint import load_model
from faststyle.training import records

ROOT = Path(__file__).resolve().parents[1]


def train(tmp_path, shared, photos, *extra: str) -> int:
    return train_main(train_args(shared, photos, tmp_path / "ck", *extra))


def test_short_training_writes_checkpoints_and_model(tmp_path, shared, photos):
    assert train(tmp_path, shared, photos, "--max-steps", "3") == 0
    ck = tmp_path / "ck"
    assert ckpt_step(ck / "last.ckpt") == 3
    final = load_model(ck / "mosaic.pth")  # rebuilt from the file alone: no config, no hparams passed
    assert final.name == "mosaic" and final.net.arch == "tiny"
    assert final.hparams["image_size"] == 48 and final.hparams["style_weight"] > 0
    from_ckpt = load_model(ck / "last.ckpt")
    x = torch.rand(1, 3, 37, 53)
    with torch.no_grad():
        assert torch.equal(final.net(x), from_ckpt.net(x))
    assert final.net(x).shape == x.shape
    assert (ck / "last.ckpt").stat().st_size < 2_000_000, "the VGG must not be saved in checkpoints"
    assert list((tmp_path / "runs").rglob("events.out.tfevents*")), "TensorBoard log written"


def test_resume_continues_exactly(tmp_path, shared, photos):
    straight = tmp_path / "straight"
    straight.mkdir()
    assert train(straight, shared, photos, "--max-steps", "6") == 0

    split = tmp_path / "split"
    split.mkdir()
    assert train(split, shared, photos, "--max-steps", "3") == 0
    assert ckpt_step(split / "ck" / "last.ckpt") == 3
    assert train(split, shared, photos, "--max-steps", "6", "--resume") == 0
    assert ckpt_step(split / "ck" / "last.ckpt") == 6
    # Same seed, same data order, same optimizer state: identical weights after 6 steps.
    assert torch.equal(net_params(straight / "ck" / "last.ckpt"), net_params(split / "ck" / "last.ckpt"))


def test_refuses_to_overwrite_a_run_and_reports_bad_inputs_early(tmp_path, shared, photos, capsys):
    assert train(tmp_path, shared, photos, "--max-steps", "1") == 0
    capsys.readouterr()
    assert train(tmp_path, shared, photos, "--max-steps", "1") == 2
    assert "--resume" in capsys.readouterr().err
    code = train_main(["--style", str(tmp_path / "nope.jpg"), "--data", str(photos), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "nope.jpg" in err and err.count("\n") == 1
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code = train_main(
        [
            "--style",
            str(shared / "styles" / "mosaic.jpg"),
            "--data",
            str(photos),
            "--checkpoint-dir",
            str(blocker / "sub"),
            *FAST,
        ]
    )
    assert code == 2 and "--checkpoint-dir" in capsys.readouterr().err


def test_corrupt_images_are_skipped_and_counted(tmp_path, shared, photos, capsys):
    from PIL import Image

    (photos / "part0" / "zero.jpg").write_bytes(b"")
    (photos / "part1" / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    good = next(photos.rglob("0*.jpg")).read_bytes()
    (photos / "part1" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    Image.new("1", (30000, 30000)).save(photos / "part0" / "bomb.png")  # 900 Mpx in ~100 kB
    # Odd modes are photos too: they are converted and used, not skipped.
    Image.new("CMYK", (96, 80), (0, 128, 255, 0)).save(photos / "part0" / "cmyk.jpg")
    Image.new("I;16", (96, 80), 40000).save(photos / "part1" / "grey16.png")
    # 14 files, batch 2 x 7 steps = 14 draws: every file is visited once.
    assert train(tmp_path, shared, photos, "--max-steps", "7") == 0
    captured = capsys.readouterr()
    assert "4 images skipped" in captured.out
    # the utilisation is printed: FLOPs counted once, the run's mean against the measured peak
    assert "GFLOP per image" in captured.out and "% of the peak (mean of the run)" in captured.out
    assert ckpt_step(tmp_path / "ck" / "last.ckpt") == 7


def test_empty_data_folder_fails_at_start(tmp_path, shared, capsys):
    (tmp_path / "empty").mkdir()
    code = train_main(
        [
            "--style",
            str(shared / "styles" / "mosaic.jpg"),
            "--data",
            str(tmp_path / "empty"),
            "--checkpoint-dir",
            str(tmp_path / "ck"),
            *FAST,
        ]
    )
    assert code == 2 and "--data" in capsys.readouterr().err


def test_config_file_supplies_defaults_and_flags_override(tmp_path):
    from faststyle.commands.train import build_parser
    from faststyle.training.config_sources import merge

    def parse_args(argv):
        return merge(build_parser().parse_args(argv))[0]

    conf = tmp_path / "c.yaml"
    conf.write_text("image_size: 96\nbatch_size: 3\n")
    args = parse_args(["--config", str(conf), "--batch-size", "5"])
    assert (args.image_size, args.batch_size) == (96, 5)
    conf.write_text("image_sise: 96\n")
    with pytest.raises(Exception, match="image_sise"):
        parse_args(["--config", str(conf)])
    given = parse_args(["--adapter-rank", "full", "--lr", "0.01"])
    conf.write_text(given.to_yaml())  # as --print-config shows it: full as -1, no style as null
    back = parse_args(["--config", str(conf)])
    assert dataclasses.replace(back, config=None) == dataclasses.replace(given, config=None)


@pytest.mark.parametrize("recipe", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_recipe_reads_into_settings(recipe):
    from faststyle.training.config import TrainConfig
    from faststyle.training.config_sources import read_yaml

    settings = read_yaml(ROOT / "configs" / recipe)  # an unknown key or a bad value raises here
    config = TrainConfig(**settings)
    assert settings and all(getattr(config, k) == v for k, v in settings.items())


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(tmp_path, shared, photos):
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "--style",
        str(shared / "styles" / "mosaic.jpg"),
        "--data",
        str(photos),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--log-dir",
        str(tmp_path / "runs"),
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--max-steps",
        "3",
        *FAST,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = torch.load(tmp_path / "ck" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 3
    assert (tmp_path / "ck" / "mosaic.pth").is_file()


def test_help_explains_every_flag():
    from faststyle.commands.train import build_parser

    text = build_parser().format_help()
    for flag in (
        "--style",
        "--data",
        "--config",
        "--max-steps",
        "--image-size",
        "--batch-size",
        "--lr",
        "--content-weight",
        "--style-weight",
        "--tv-weight",
        "--style-size",
        "--accelerator",
        "--devices",
        "--num-nodes",
        "--precision",
        "--checkpoint-dir",
        "--resume",
        "--vgg-weights",
        "--seed",
        "--data-split",
        "--image-column",
    ):
        assert flag in text


def test_streaming_data_resumes_exactly_with_any_worker_count(tmp_path, shared, photos):
    """The streaming path (what large Hub datasets use), on a local folder."""
    straight = tmp_path / "straight"
    straight.mkdir()
    assert train(straight, shared, photos, "--streaming", "on", "--max-steps", "4") == 0
    split = tmp_path / "split"
    split.mkdir()
    workers = ["--num-workers", "2"]  # overrides FAST's 0: batches must not depend on it
    assert train(split, shared, photos, "--streaming", "on", "--max-steps", "2", *workers) == 0
    assert train(split, shared, photos, "--max-steps", "4", "--resume", *workers) == 0
    assert ckpt_step(split / "ck" / "last.ckpt") == 4
    assert torch.equal(net_params(straight / "ck" / "last.ckpt"), net_params(split / "ck" / "last.ckpt"))


def test_loss_falls_on_a_fixed_batch(vgg_features, shared):
    """30 Adam steps on one batch: the system's net + loss must learn something."""
    from faststyle.image_io import load_rgb
    from faststyle.loss.perceptual import PerceptualLoss
    from faststyle.model.transform_net import TransformNet
    from faststyle.pixels import array_to_net

    torch.manual_seed(0)
    loss_fn = PerceptualLoss(vgg_features)
    loss_fn.set_style(
        torch.nn.functional.interpolate(
            array_to_net(load_rgb(shared / "styles" / "wave.jpg")), size=(64, 112), mode="area"
        )
    )
    photos = sorted((shared / "data" / "coco128" / "train2017").glob("*.jpg"))[:2]
    batch = torch.cat(
        [torch.nn.functional.interpolate(array_to_net(load_rgb(p)), size=(64, 64), mode="area") for p in photos]
    )
    net = TransformNet("tiny")
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = loss_fn(net(batch), batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5, losses


@pytest.mark.parametrize("stop_at", [3, 1])
def test_ctrl_c_says_which_step_is_kept_and_how_to_go_on(stop_at, tmp_path, shared, photos, capsys):
    import lightning.pytorch as L

    from faststyle.commands.train import build_parser
    from faststyle.training.config_sources import merge
    from faststyle.training.run import train as run_training

    class CtrlC(L.Callback):
        def on_train_batch_start(self, trainer, *args):
            if trainer.global_step == stop_at:
                raise KeyboardInterrupt

    argv = ["--style", str(shared / "styles" / "mosaic.jpg"), "--data", str(photos), *FAST]
    argv += ["--checkpoint-dir", str(tmp_path / "ck"), "--log-dir", str(tmp_path / "r"), "--checkpoint-every", "2"]
    config, explicit = merge(build_parser().parse_args([*argv, "--max-steps", "6"]))
    with pytest.raises(SystemExit):
        run_training(config, explicit, callbacks=[CtrlC()])
    err = capsys.readouterr().err
    if stop_at == 1:  # before the first checkpoint: --resume would be refused, so it is not advised
        assert "interrupted at step 1: no checkpoint was written yet" in err and "without --resume" in err
        assert not (tmp_path / "ck" / "last.ckpt").exists()
        return
    assert f"interrupted at step 3: {tmp_path / 'ck' / 'last.ckpt'} holds step 2" in err and "--resume" in err
    assert ckpt_step(tmp_path / "ck" / "last.ckpt") == 2
    # a resumed run stopped before its own first save still has the step it resumed from to go on with
    config, explicit = merge(build_parser().parse_args([*argv, "--max-steps", "6", "--resume"]))
    with pytest.raises(SystemExit):
        run_training(config, explicit, callbacks=[CtrlC()])
    assert f"interrupted at step 3: {tmp_path / 'ck' / 'last.ckpt'} holds step 2" in capsys.readouterr().err


def test_flags_lightning_or_the_machine_would_refuse_are_one_line_before_training(tmp_path, shared, photos, capsys):
    from PIL import Image

    thin, dot = tmp_path / "thin.png", tmp_path / "dot.png"
    Image.new("RGB", (4000, 8), (200, 30, 30)).save(thin)
    Image.new("RGB", (1, 1), (200, 30, 30)).save(dot)
    (tmp_path / "afile").write_text("not a folder")
    style = str(shared / "styles" / "mosaic.jpg")
    cases = [
        (["--accelerator", "bogus"], "--accelerator bogus: not one of"),
        (["--strategy", "bogus"], "--strategy bogus: not a Lightning strategy"),
        (["--devices", "999"], "--devices 999: this machine has"),
        (["--log-dir", str(tmp_path / "afile")], "pass a writable --log-dir"),
        (["--export-dir", str(tmp_path / "afile")], "pass a writable --export-dir"),
        (["--name", "../../evil"], "a model name, not a path"),
        (["--style", str(thin)], "4000x8 px, 256x1 at --style-size 256; a style image needs at least 16 px"),
        (["--style", str(dot)], "1x1 px; a style image needs at least 16 px"),
    ]
    if not torch.cuda.is_available():
        cases.append((["--accelerator", "gpu"], "--accelerator gpu: no GPU that PyTorch can use here"))
    for extra, expected in cases:
        fast = [f for f in FAST if f != "--no-export"]  # the export folder is checked only when there is an export
        argv = ["--style", style, "--data", str(photos), "--checkpoint-dir", str(tmp_path / "ck"), *fast, *extra]
        assert train_main([*argv, "--style-size", "256", "--max-steps", "1"]) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err, (extra, err)
        assert not (tmp_path / "ck").exists()


def test_missing_data_is_one_line_at_once_whether_a_path_or_a_hub_id(tmp_path, shared, monkeypatch, capsys):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    (tmp_path / "in").mkdir()
    monkeypatch.chdir(tmp_path)
    base = ["--style", str(shared / "styles" / "mosaic.jpg"), "--checkpoint-dir", str(tmp_path / "ck"), *FAST]
    base += ["--max-steps", "1"]
    answers = []

    def hub(self, repo_id, **kw):
        raise answers[-1]

    monkeypatch.setattr(HfApi, "dataset_info", hub)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for data, answer, expected in [
        ("in/missing_dir", None, "no such folder"),  # 'in' is a folder here: a path, never asked of the Hub
        ("a/b/c", None, "no such folder"),
        ("someone/nothing", RepositoryNotFoundError.__new__(RepositoryNotFoundError), "no such dataset on the Hub"),
        ("someone/photos", OSError("Name or service not known"), "cannot be reached (OSError); pass a local folder"),
    ]:
        answers.append(answer)
        assert train_main([*base, "--data", data]) == 2, data
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "ck").exists()


def test_hub_dataset_without_the_image_column_fails_at_start(tmp_path, shared, monkeypatch, capsys):
    """A Hub id goes straight to datasets.load_dataset; offline, a stand-in dataset plays the Hub."""
    import datasets

    calls = []

    def fake_hub(name, split=None, streaming=False, **kw):
        calls.append((name, split, streaming))
        return datasets.Dataset.from_dict({"caption": ["a cat", "a dog"], "jpg": [None, None]})

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    monkeypatch.setattr(records, "check_hub_dataset", lambda data: None)  # the Hub, reachable, knows the id
    code = train_main(
        [
            "--style",
            str(shared / "styles" / "mosaic.jpg"),
            "--data",
            "someone/photos",
            "--data-split",
            "validation",
            "--streaming",
            "off",
            "--checkpoint-dir",
            str(tmp_path / "ck"),
            *FAST,
            "--max-steps",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--image-column" in err and "caption" in err
    assert calls == [("someone/photos", "validation", False)]


def test_help_documents_every_flag_with_its_real_default():
    from faststyle.commands.train import build_parser
    from faststyle.training.config import TrainConfig

    text = " ".join(build_parser().format_help().split())
    for flag in [
        "--style",
        "--data",
        "--config",
        "--max-steps",
        "--image-size",
        "--batch-size",
        "--lr",
        "--content-weight",
        "--style-weight",
        "--tv-weight",
        "--style-size",
        "--accelerator",
        "--devices",
        "--num-nodes",
        "--precision",
        "--checkpoint-dir",
        "--resume",
        "--vgg-weights",
        "--seed",
    ]:
        assert flag in text
    assert "default: None" not in text
    assert f"(default: {TrainConfig.style_weight})" in text and "useful range" in text
    assert f"(default: {TrainConfig.max_steps})" in text


def test_a_local_data_folder_means_every_image_below_it(tmp_path, shared):
    """`datasets` guesses splits from names: a test/ folder made 'Unknown split train', and files
    named train_*.jpg beside others made only those train. A folder is every image below it."""
    photos = sorted((shared / "data" / "coco128" / "train2017").glob("*.jpg"))[:8]
    (tmp_path / "test").mkdir()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    for i, photo in enumerate(photos):
        where = [tmp_path / "test" / f"{i}.jpg", tmp_path / f"train_{i}.jpg", tmp_path / "deep" / "er" / f"{i}.jpg"]
        shutil.copy(photo, where[i % 3])
    (tmp_path / "deep" / "loop").symlink_to(tmp_path)  # a link loop is walked once
    assert len(records.open_dataset(str(tmp_path))) == 8


def test_tensorboard_gets_previews_throughput_and_learning_rate(tmp_path, shared, photos):
    # What a user watches a run by: the preview grid every --preview-every steps,
    # images/s and the learning rate at every step, each loss term.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert train(tmp_path, shared, photos, "--max-steps", "4", "--preview-every", "2", "--no-export") == 0
    (events,) = (tmp_path / "runs").rglob("events.out.tfevents.*")
    log = EventAccumulator(str(events.parent), size_guidance={"images": 0, "scalars": 0})
    log.Reload()
    assert [e.step for e in log.Images("previews")] == [2, 4]
    grid = log.Images("previews")[0]
    assert grid.width > grid.height  # photos above their stylizations, side by side
    scalars = set(log.Tags()["scalars"])
    assert {"perf/images_per_s", "lr", "loss/content", "loss/style", "loss/tv"} <= scalars, scalars
    assert all(e.value > 0 for e in log.Scalars("perf/images_per_s"))
