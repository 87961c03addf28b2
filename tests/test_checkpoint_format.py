"""Checkpoint format versions: a file of every earlier generation loads to the same pixels as the
current format of the same weights, a resumed run of the oldest one continues exactly, and a file
of a newer version is refused in one line.

Each older file is written here from a current small net by undoing the upgrade steps by hand
(old key names and shapes, missing keys, old settings), generation by generation, so no binary
fixture is committed; `faststyle.model.checkpoint_format` lists the generations.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import FAST, ROOT, ckpt_step, net_params, train_args

from faststyle.commands.train import main as train_main
from faststyle.errors import ModelError, UserError
from faststyle.model.archs import FULL
from faststyle.model.checkpoint import load_model, save_model
from faststyle.model.checkpoint_format import KEY, OUTPUT_DELTA, VERSION, upgrade
from faststyle.model.transform_net import CondInstanceNorm, TransformNet
from faststyle.training.checkpoint_io import read_checkpoint

# The settings the datamodule kept apart, in "datamodule_hyper_parameters", before generation 1.
DATA_SETTINGS = ("data", "batch_size", "num_workers", "data_split", "image_column", "seed")
# What generation 2 added to a training checkpoint's settings beside the style list.
MULTI_STYLE_SETTINGS = ("styles", "name", "trained_styles", "frozen_rows", "adapted_styles")


def randomised(net: TransformNet, seed: int = 0) -> TransformNet:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return net.eval()


def net_for(version: int) -> TransformNet:
    """A net a file of `version` could hold: one style before generation 2, else two with full
    adapters on the second, its output conv uncorrected (generation 2 files had no such tensor)."""
    if version < 2:
        return randomised(TransformNet("tiny"))
    net = randomised(TransformNet("tiny", num_styles=2, adapter_rank=FULL, adapted_styles=1))
    net.get_parameter(OUTPUT_DELTA).data.zero_()
    return net


def records(net: TransformNet) -> list[dict[str, Any]]:
    """The current records of its styles (the painting 256 px long or more, so the stroke scale is that)."""
    keys = ("name", "image", "style_size", "stroke_scale")
    return [dict(zip(keys, (f"s{i}", f"/paintings/s{i}.jpg", 256, 256), strict=True)) for i in range(net.num_styles)]


def current_ckpt(net: TransformNet) -> dict[str, Any]:
    """A training checkpoint as the system writes it now (the parts faststyle reads), with
    Adam's state for every weight in one group, as a run that trains the whole net has."""
    state = net.state_dict()
    moments = {
        i: {"step": torch.tensor(3.0), "exp_avg": v + 1, "exp_avg_sq": v * v} for i, v in enumerate(state.values())
    }
    hp = {
        "style": [r["image"] for r in records(net)],
        "style_size": 256,
        "arch": net.arch,
        "image_size": 48,
        **{"data": "photos", "batch_size": 2, "num_workers": 0, "data_split": "train", "image_column": "image"},
        **{"seed": 0, "name": "s0", "styles": records(net), "trained_styles": [0], "frozen_rows": 0},
        "adapted_styles": net.adapted_styles,
    }
    return {
        "epoch": 0,
        "global_step": 3,
        "state_dict": {f"net.{k}": v for k, v in state.items()},
        "optimizer_states": [{"state": moments, "param_groups": [{"lr": 1e-3, "params": list(moments)}]}],
        "hyper_parameters": hp,
        KEY: VERSION,
    }


def as_generation(obj: dict[str, Any], version: int, net: TransformNet) -> dict[str, Any]:
    """`obj` (a current .pth or .ckpt) as a faststyle of generation `version` wrote it: each
    upgrade step undone by hand, newest first, and no version number (none had one)."""
    obj = copy.deepcopy(obj)
    ckpt = "hyper_parameters" in obj
    hp, state = obj["hyper_parameters" if ckpt else "hparams"], obj["state_dict"]
    holder, prefix = (hp, "net.") if ckpt else (obj, "")
    del obj[KEY]
    if version < 5:  # the model's name also under another key
        if ckpt:
            hp["style_name"] = hp["name"]
        else:
            obj["style"] = obj.pop("name")
    if version < 4:  # no stroke scale in the records
        holder["styles"] = [{k: v for k, v in r.items() if k != "stroke_scale"} for r in holder["styles"]]
    if version < 3:  # no correction of the output conv
        state.pop(prefix + OUTPUT_DELTA, None)
    if version < 2:  # nn.InstanceNorm2d: [C] scales and shifts (and Adam moments), one style image
        modules = [n for n, m in net.named_modules() if isinstance(m, CondInstanceNorm)]
        norms = {f"{prefix}{n}.{p}" for n in modules for p in ("weight", "bias")}
        for i, key in enumerate(state):
            if key in norms:
                state[key] = state[key][0]
                if ckpt:
                    moments = obj["optimizer_states"][0]["state"][i]
                    moments.update(exp_avg=moments["exp_avg"][0], exp_avg_sq=moments["exp_avg_sq"][0])
        hp["style"] = hp["style"][0]
        for key in MULTI_STYLE_SETTINGS if ckpt else ["styles"]:
            (hp if ckpt else obj).pop(key, None)
    if version < 1 and ckpt:  # the data settings apart
        obj["datamodule_hyper_parameters"] = {k: hp.pop(k) for k in DATA_SETTINGS}
    return obj


def pixels(path: Path) -> list[torch.Tensor]:
    net = load_model(path).net
    x = torch.rand(2, 3, 37, 45, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return [net(x, i) for i in range(net.num_styles)]


@pytest.mark.parametrize("kind", ["pth", "ckpt"])
@pytest.mark.parametrize("version", range(VERSION))
def test_every_earlier_generation_loads_to_the_same_pixels(version, kind, tmp_path):
    net = net_for(version)
    now = tmp_path / f"now.{kind}"
    if kind == "pth":
        save_model(net, now, "s0", {"style": [r["image"] for r in records(net)], "style_size": 256}, records(net))
    else:
        torch.save(current_ckpt(net), now)
    written = torch.load(now, weights_only=True)
    assert written[KEY] == VERSION
    old = tmp_path / f"v{version}.{kind}"
    torch.save(as_generation(written, version, net), old)
    if version < 2 and kind == "pth":
        assert torch.load(old, weights_only=True)["state_dict"]["encoder.0.2.weight"].shape == (8,)

    before, after = load_model(old), load_model(now)
    assert all(torch.equal(a, b) for a, b in zip(pixels(old), pixels(now), strict=True))
    assert (before.name, before.styles, before.net.num_styles) == (after.name, after.styles, after.net.num_styles)
    assert [s["stroke_scale"] for s in before.styles] == [256] * net.num_styles  # from the style size
    assert before.hparams["style"] == after.hparams["style"]  # one image is a list of one
    if kind == "ckpt":  # what --resume reads: the settings merged, the optimizer's moments reshaped
        saved, reference = read_checkpoint(old), read_checkpoint(now)
        settings, reference_settings = saved["hyper_parameters"], reference["hyper_parameters"]
        assert settings.items() <= reference_settings.items() and "styles" in settings and KEY in saved
        moments = [s["optimizer_states"][0]["state"].values() for s in (saved, reference)]
        for a, b in zip(*moments, strict=True):
            assert all(torch.equal(a[k], b[k]) for k in b)


def test_upgrade_leaves_the_file_it_was_given_alone(tmp_path):
    old = as_generation(current_ckpt(net_for(0)), 0, net_for(0))
    kept = copy.deepcopy(old)
    new = upgrade(old, "x.ckpt")
    assert new[KEY] == VERSION and "datamodule_hyper_parameters" not in new
    assert old.keys() == kept.keys() and old["hyper_parameters"] == kept["hyper_parameters"]
    assert all(torch.equal(old["state_dict"][k], v) for k, v in kept["state_dict"].items())
    assert upgrade({"anything": 1}) == {"anything": 1}  # not a checkpoint: the reader refuses it


@pytest.mark.parametrize("kind", ["pth", "ckpt"])
def test_a_newer_version_is_refused_in_one_line(kind, tmp_path):
    net = net_for(VERSION)
    path = tmp_path / f"future.{kind}"
    obj = current_ckpt(net) if kind == "ckpt" else {"format": "faststyle-model", "state_dict": net.state_dict()}
    torch.save({**obj, KEY: VERSION + 1}, path)
    with pytest.raises(ModelError) as refused:
        load_model(path)
    message = str(refused.value)
    assert "written by a newer faststyle; upgrade faststyle" in message and str(path) in message
    assert len(message.splitlines()) == 1
    if kind == "ckpt":
        with pytest.raises(UserError, match="newer faststyle"):
            read_checkpoint(path)
    torch.save({**obj, KEY: "four"}, path)
    with pytest.raises(ModelError, match="not a version number"):
        load_model(path)


def test_resume_of_a_newer_checkpoint_is_one_line(tmp_path, shared, photos, capsys):
    ck = tmp_path / "ck"
    ck.mkdir()
    torch.save({**current_ckpt(net_for(VERSION)), KEY: VERSION + 1}, ck / "last.ckpt")
    assert train_main(train_args(shared, photos, ck, "--resume")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "upgrade faststyle" in err


def test_a_run_saved_by_the_first_generation_resumes_exactly(tmp_path, shared, photos):
    """Its data settings apart, its one style image a string, [C] norms and Adam moments: the run
    goes on without --style or --data (both come from the file) to the weights of a straight run."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(train_args(shared, photos, straight, "--max-steps", "2")) == 0
    assert train_main(train_args(shared, photos, split, "--max-steps", "1")) == 0
    current = torch.load(split / "last.ckpt", weights_only=False)
    assert current[KEY] == VERSION
    plain = TransformNet("tiny")  # the names of its norms
    torch.save(as_generation(current, 0, plain), split / "last.ckpt")
    flags = ["--checkpoint-dir", str(split), "--log-dir", str(tmp_path / "runs"), *FAST]
    assert train_main([*flags, "--max-steps", "2", "--resume"]) == 0
    assert ckpt_step(split / "last.ckpt") == 2 and torch.load(split / "last.ckpt", weights_only=True)[KEY] == VERSION
    assert torch.equal(net_params(straight / "last.ckpt"), net_params(split / "last.ckpt"))


def test_onnx_metadata_names_the_format_version(tmp_path):
    import onnx

    from faststyle.export.onnx_export import export_onnx

    model = save_model(net_for(0), tmp_path / "m.pth", "m")
    out = export_onnx(model, tmp_path / "m.onnx", verify=False)
    assert {p.key: p.value for p in onnx.load(out).metadata_props}[KEY] == str(VERSION)


# The tiny Starry Night shipped in b350b66 (456 KB), written before records had a stroke scale.
SHIPPED = ("b350b66", "src/faststyle/models/starry_night_tiny.pth")


def test_a_model_shipped_before_stroke_scales_still_loads(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git history here")
    old = tmp_path / "shipped.pth"
    shown = subprocess.run(["git", "show", ":".join(SHIPPED)], cwd=ROOT, capture_output=True)
    if shown.returncode != 0:
        pytest.skip(f"{SHIPPED[0]} is not in this checkout's history")
    old.write_bytes(shown.stdout)
    assert KEY not in torch.load(old, weights_only=True)
    loaded = load_model(old)
    assert loaded.style_names == ["starry_night"] and loaded.styles[0]["stroke_scale"] == 256
    again = save_model(loaded.net, tmp_path / "again.pth", loaded.name, loaded.hparams, loaded.styles)
    assert all(torch.equal(a, b) for a, b in zip(pixels(old), pixels(again), strict=True))
