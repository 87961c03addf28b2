"""Many styles in one network: conditional instance norm, blending, --base fine-tuning,
--max-minutes, exact resume, the ONNX style input, and stylize --style."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST, ckpt_step, net_params
from torch import nn

from faststyle.commands.stylize import main as stylize_main
from faststyle.commands.train import main as train_main
from faststyle.export.layouts import PixelStylizer
from faststyle.export.onnx_export import export_onnx
from faststyle.model.adapters import ADAPTER_PARAMS, AdaptedConv2d
from faststyle.model.archs import FULL
from faststyle.model.checkpoint import load_model, save_model
from faststyle.model.transform_net import CondInstanceNorm, TransformNet
from faststyle.runtime import Stylizer
from faststyle.training.styles import norm_row_keys, plan_styles

STYLES = ("mosaic", "wave", "candy")


def randomise(net: nn.Module, seed: int = 0) -> nn.Module:
    """Every weight (norm rows too) away from its initial value, so styles really differ."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
    return net


def with_plain_norms(net: TransformNet, weights: torch.Tensor) -> TransformNet:
    """A copy of `net` whose conditional norms are nn.InstanceNorm2d(affine=True) layers holding
    the rows mixed by `weights` [S]: the network as it was before styles could be conditioned."""
    plain = copy.deepcopy(net)
    for name, mod in list(plain.named_modules()):
        if isinstance(mod, CondInstanceNorm):
            parent, _, index = name.rpartition(".")
            norm = nn.InstanceNorm2d(mod.weight.shape[1], affine=True)
            with torch.no_grad():
                norm.weight.copy_(weights @ mod.weight)
                norm.bias.copy_(weights @ mod.bias)
            plain.get_submodule(parent)[int(index)] = norm
    return plain.eval()


def test_one_style_cin_is_exactly_the_plain_instance_norm_net():
    net = randomise(TransformNet("tiny")).eval()
    x = torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        assert torch.equal(net(x), with_plain_norms(net, torch.ones(1))(x))


def test_blending_weights_equals_the_blended_scales_and_shifts():
    net = randomise(TransformNet("tiny", num_styles=3)).eval()
    x = torch.rand(1, 3, 40, 40)
    w = torch.tensor([0.2, 0.5, 0.3])
    with torch.no_grad():
        blended, reference = net(x, w), with_plain_norms(net, w)(x)
        assert (blended - reference).abs().max() < 1e-5
        one_hot = net(x, torch.tensor([0.0, 1.0, 0.0]))
        assert torch.equal(one_hot, net(x, 1))  # a one-hot weight vector picks that style
        assert (net(x, torch.tensor([1, 2])) - torch.cat([net(x, 1), net(x, 2)])).abs().max() < 1e-5


@pytest.mark.parametrize("rank", [4, FULL], ids=["low-rank", "full"])
def test_adapters_change_only_their_style_and_blend_as_the_blended_kernel(rank):
    net = randomise(TransformNet("tiny", num_styles=3, adapter_rank=rank, adapted_styles=1)).eval()
    plain = TransformNet("tiny", num_styles=3)  # the same net without the third style's adapters
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if "adapter" not in k})
    x, w = torch.rand(2, 3, 40, 44), torch.tensor([0.2, 0.3, 0.5])
    with torch.no_grad():
        for i in (0, 1):
            assert torch.equal(net(x, i), plain.eval()(x, i))  # styles without an adapter: exactly the base
        assert (net(x, 2) - plain(x, 2)).abs().max() > 0.05  # the adapter changes its own style
        # a blend = the blended norm rows over kernels W + 0.5 * up @ down / sqrt(r * fan-in)
        # (or W + 0.5 * delta / sqrt(fan-in), a full correction)
        for name, mod in net.named_modules():
            if isinstance(mod, AdaptedConv2d):
                if name == "decoder.2.1":  # the output conv (3 channels): corrected only in full form
                    assert mod.adapted == (rank == FULL)
                    if not mod.adapted:
                        continue
                if rank == FULL:
                    assert mod.adapter_delta is not None and mod.adapter_up is None
                    delta = mod.adapter_delta[0].view_as(mod.weight) / mod.adapter_delta.shape[2] ** 0.5
                else:
                    assert mod.adapter_up is not None and mod.adapter_down is not None
                    fan_in = mod.adapter_down.shape[2]
                    delta = (mod.adapter_up[0] @ mod.adapter_down[0]).view_as(mod.weight) / (4 * fan_in) ** 0.5
                plain.get_submodule(name).weight.add_(0.5 * delta)
        reference = with_plain_norms(plain, w)(x)
        assert (net(x, w) - reference).abs().max() < 1e-4  # float rounding; a level is 4e-3
        assert (net(x, w.expand(2, 3)) - reference).abs().max() < 1e-4  # per-image weights: the other path


def multi_args(shared: Path, photos: Path, ck: Path, *extra: str) -> list[str]:
    styles = [str(shared / "styles" / f"{s}.jpg") for s in STYLES]
    return [
        "--style",
        *styles,
        "--data",
        str(photos),
        "--checkpoint-dir",
        str(ck),
        "--log-dir",
        str(ck.parent / "runs"),
        *FAST,
        *extra,
    ]


@pytest.fixture()
def base_model(tmp_path, shared, photos) -> Path:
    assert train_main(multi_args(shared, photos, tmp_path / "base", "--max-steps", "3")) == 0
    return tmp_path / "base" / "multistyle.pth"


def test_multi_style_training_writes_a_model_listing_its_styles(base_model):
    loaded = load_model(base_model)
    assert loaded.style_names == list(STYLES) and loaded.net.num_styles == 3
    assert all(Path(s["image"]).name == f"{s['name']}.jpg" and s["style_size"] == 64 for s in loaded.styles)


@pytest.mark.parametrize(
    "extra",
    [[], ["--ema-decay", "0.9"], ["--adapter-rank", "16"], ["--adapter-rank", "16", "--adapter-down-lr", "0"]],
    ids=["plain", "ema", "rank-16", "down-frozen"],
)
def test_adding_a_style_leaves_the_base_styles_bit_identical(extra, base_model, tmp_path, shared, photos):
    rc = train_main(
        [
            "--style",
            str(shared / "styles" / "udnie.jpg"),
            "--base",
            str(base_model),
            "--data",
            str(photos),
            "--checkpoint-dir",
            str(tmp_path / "plus"),
            "--log-dir",
            str(tmp_path / "runs"),
            *FAST,
            "--max-steps",
            "3",
            *extra,
        ]
    )
    assert rc == 0
    base, grown = load_model(base_model), load_model(tmp_path / "plus" / "multistyle_udnie.pth")
    assert grown.style_names == [*STYLES, "udnie"]
    x = torch.rand(1, 3, 48, 56)
    with torch.no_grad():
        for i in range(3):
            assert torch.equal(base.net(x, i), grown.net(x, i)), STYLES[i]
        assert not torch.equal(grown.net(x, 3), base.net(x, torch.full((3,), 1 / 3)))  # the new one learned
    rank = 16 if "16" in extra else FULL
    assert grown.net.adapted_styles == 1 and grown.net.adapter_rank == rank  # with convolution adapters of its own
    starts_at_zero = ADAPTER_PARAMS[2] if rank == FULL else ADAPTER_PARAMS[0]  # a full correction, or up
    convs = [m for m in grown.net.modules() if isinstance(m, AdaptedConv2d)]
    ups = [getattr(m, starts_at_zero) for m in convs if m.adapted]
    assert len(ups) == len(convs) - (rank != FULL)  # every conv; with a rank, all but the output one
    assert all(u is not None and u.abs().sum() > 0 for u in ups)  # every one of them trained away from zero
    if rank == FULL:
        return
    start = plan_styles([{"name": "udnie"}], base, "styles", 16).init_state
    assert start is not None
    downs = {k: v for k, v in grown.net.state_dict().items() if k.endswith(ADAPTER_PARAMS[1])}
    moved = [not torch.equal(v, start[k]) for k, v in downs.items()]
    assert len(moved) == len(ups)
    if "--adapter-down-lr" in extra:
        assert not any(moved)  # rate 0: each down factor stays the fixed random projection it started as
    else:
        assert all(moved)


def test_a_style_added_over_added_ones_keeps_their_adapters_and_resumes_exactly(base_model, tmp_path, shared, photos):
    def add(style: str, base: Path, ck: Path, *extra: str) -> int:
        argv = ["--style", str(shared / "styles" / f"{style}.jpg"), "--base", str(base), "--data", str(photos)]
        return train_main([*argv, "--checkpoint-dir", str(ck), "--log-dir", str(tmp_path / "runs"), *FAST, *extra])

    assert add("udnie", base_model, tmp_path / "one", "--max-steps", "2", "--adapter-rank", "2") == 0
    first = tmp_path / "one" / "multistyle_udnie.pth"
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert add("la_muse", first, straight, "--max-steps", "4") == 0  # the rank follows the base's adapters
    assert add("la_muse", first, split, "--max-steps", "2") == 0
    assert add("la_muse", first, split, "--max-steps", "4", "--resume") == 0
    assert torch.equal(net_params(straight / "last.ckpt"), net_params(split / "last.ckpt"))
    before, after = load_model(first), load_model(straight / "multistyle_udnie_la_muse.pth")
    assert (after.net.adapted_styles, after.net.adapter_rank) == (2, 2)
    x = torch.rand(1, 3, 48, 56)
    with torch.no_grad():
        for i in range(4):  # the base's three and udnie, adapter and all
            assert torch.equal(before.net(x, i), after.net(x, i)), i
    assert add("wave", first, tmp_path / "r", "--adapter-rank", "3") == 2  # a rank the base's adapters do not have
    assert add("wave", first, tmp_path / "r", "--adapter-rank", "full") == 2


@pytest.mark.parametrize("start", ["nearest", "mean"])
def test_a_new_style_starts_from_the_nearest_base_style_or_the_mean(
    start, base_model, tmp_path, shared, photos, capsys
):
    ck = tmp_path / start
    argv = ["--style", str(shared / "styles" / "udnie.jpg"), "--base", str(base_model), "--data", str(photos)]
    argv += ["--checkpoint-dir", str(ck), "--log-dir", str(tmp_path / "runs"), *FAST]
    assert train_main([*argv, "--max-steps", "1", "--lr", "1e-9", "--new-style-start", start]) == 0
    base, grown = load_model(base_model), load_model(ck / "multistyle_udnie.pth")
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("udnie starts from")]
    assert len(said) == (1 if start == "nearest" else 0)
    before, after = base.net.state_dict(), grown.net.state_dict()
    for key in norm_row_keys(base.net):
        expected = before[key][STYLES.index(said[0].split()[5])] if start == "nearest" else before[key].mean(0)
        assert torch.allclose(after[key][3], expected, atol=1e-6), key


def test_finetune_all_gives_a_one_style_model(base_model, tmp_path, shared, photos):
    rc = train_main(
        [
            "--style",
            str(shared / "styles" / "udnie.jpg"),
            "--base",
            str(base_model),
            "--finetune",
            "all",
            "--data",
            str(photos),
            "--checkpoint-dir",
            str(tmp_path / "all"),
            "--log-dir",
            str(tmp_path / "runs"),
            *FAST,
            "--max-steps",
            "2",
        ]
    )
    assert rc == 0
    assert load_model(tmp_path / "all" / "udnie.pth").style_names == ["udnie"]


def test_finetune_all_continues_a_base_style_from_its_own_rows():
    from faststyle.model.checkpoint import LoadedModel
    from faststyle.training.styles import plan_styles

    net = randomise(TransformNet("tiny", num_styles=2))
    base = LoadedModel(net, "base", styles=[{"name": "mosaic"}, {"name": "wave"}])
    plan = plan_styles([{"name": "wave"}, {"name": "new"}], base, "all")
    assert plan.init_state is not None and [s["name"] for s in plan.styles] == ["wave", "new"]
    for key in norm_row_keys(net):
        rows = net.state_dict()[key]
        assert torch.equal(plan.init_state[key][0], rows[1])  # wave keeps its own scales and shifts
        assert torch.allclose(plan.init_state[key][1], rows.mean(0))  # a new style starts from the mean


def test_max_minutes_stops_saves_and_exports_with_lr_decayed_over_the_minutes(tmp_path, shared, photos, capsys):
    ck = tmp_path / "timed"
    args = ("--max-steps", "100000", "--max-minutes", "0.05", "--lr", "1e-2", "--lr-schedule", "cosine")
    rc = train_main(multi_args(shared, photos, ck, *args))
    assert rc == 0
    assert 0 < ckpt_step(ck / "last.ckpt") < 100000
    assert (ck / "multistyle.pth").is_file()
    assert "final model" in capsys.readouterr().out
    # the cosine spans the 3 seconds, not the 100000 steps: the run ends near 5% of its rate
    lr = torch.load(ck / "last.ckpt", weights_only=False)["optimizer_states"][0]["param_groups"][0]["lr"]
    assert 0.0005 <= lr < 0.003


def test_multi_style_resume_is_exact(tmp_path, shared, photos):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(multi_args(shared, photos, straight, "--max-steps", "6")) == 0
    assert train_main(multi_args(shared, photos, split, "--max-steps", "3")) == 0
    assert train_main(multi_args(shared, photos, split, "--max-steps", "6", "--resume")) == 0
    assert torch.equal(net_params(straight / "last.ckpt"), net_params(split / "last.ckpt"))


def test_ema_saves_the_running_average_and_resumes_it_exactly(tmp_path, shared, photos):
    ema = ("--ema-decay", "0.9", "--lr", "1e-2")
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert train_main(multi_args(shared, photos, straight, "--max-steps", "6", *ema)) == 0
    assert train_main(multi_args(shared, photos, split, "--max-steps", "3", *ema)) == 0
    assert train_main(multi_args(shared, photos, split, "--max-steps", "6", "--resume", *ema)) == 0
    a, b = (
        torch.load(d / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"] for d in (straight, split)
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # live net and average alike
    live = {k.removeprefix("net."): v for k, v in a.items() if k.startswith("net.")}
    average = {k.removeprefix("averaged.module."): v for k, v in a.items() if k.startswith("averaged.module.")}
    assert average.keys() == live.keys() and not all(torch.equal(average[k], live[k]) for k in live)
    model = load_model(next(straight.glob("*.pth"))).net.state_dict()  # the model saved is the average
    assert all(torch.equal(model[k], average[k]) for k in model)


def test_ema_ramps_up_to_its_decay_and_leaves_weights_that_did_not_move_bit_identical():
    from torch.optim.swa_utils import AveragedModel

    from faststyle.training.averaging import ema_update

    net = nn.Linear(1, 1, bias=True)
    averaged = AveragedModel(net, multi_avg_fn=ema_update(0.25))
    seen = []
    for value in (1.0, 2.0, 3.0, 4.0):
        with torch.no_grad():
            net.weight.fill_(value)
            net.bias.fill_(0.1)  # never moves, like a frozen base row
        averaged.update_parameters(net)
        seen.append(float(averaged.module.weight.detach()))
    # the first update copies; then the decay ramps as (1+n)/(10+n): 2/11, then 3/12 = the cap 0.25, and stays
    expected = [1.0]
    for value, decay in zip((2.0, 3.0, 4.0), (2 / 11, 0.25, 0.25), strict=True):
        expected.append(decay * expected[-1] + (1 - decay) * value)
    assert seen == pytest.approx(expected, rel=1e-6)
    assert torch.equal(averaged.module.bias, net.bias)


def with_adapters(model: Path, folder: Path, rank: int = 2) -> Path:
    """The model with its last style given random convolution adapters."""
    loaded = load_model(model)
    net = TransformNet("tiny", num_styles=3, adapter_rank=rank, adapted_styles=1)
    net.load_state_dict(loaded.net.state_dict(), strict=False)
    return save_model(randomise(net, seed=3), folder / "adapted.pth", "multistyle", {}, loaded.styles)


@pytest.mark.parametrize("adapters", [0, 2, FULL], ids=["norms", "adapters", "full-adapters"])
def test_onnx_style_input_matches_torch_with_and_without_it(adapters, base_model, tmp_path):
    if adapters:
        base_model = with_adapters(base_model, tmp_path, adapters)
    path = export_onnx(base_model, tmp_path / "multi.onnx")
    net = load_model(base_model).net
    image = np.random.default_rng(1).integers(0, 256, (1, 50, 70, 3), dtype=np.uint8)
    for spec, weights in [(None, [1, 0, 0]), ("wave", [0, 1, 0]), ("mosaic=0.25,candy=0.75", [0.25, 0, 0.75])]:
        with torch.no_grad():
            ref = PixelStylizer(net)(torch.from_numpy(image), torch.tensor(weights, dtype=torch.float32)).numpy()
        got = Stylizer(path, style=spec, backend="ort", precision="fp32")(image)
        assert np.abs(got.astype(int) - ref).max() <= 1, spec
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))
    plain = session.run(None, {"image": image})[0]  # an app that feeds only the image gets the first style
    # ONNX Runtime on both sides: the chooser may pick OpenVINO, which is within a level, not bit-equal
    first = Stylizer(path, style="mosaic", backend="ort", precision="fp32")(image)
    assert np.abs(plain.astype(int) - first).max() == 0


@pytest.mark.parametrize("rank", [2, FULL], ids=["low-rank", "full"])
def test_int8_twin_of_an_adapted_model_is_calibrated_on_every_style_and_runs_each(rank, base_model, tmp_path, shared):
    from faststyle.export.quantize import calibration_feeds, quantize_int8

    photos = [np.zeros((1, 8, 8, 3), np.uint8)] * 2
    feeds = calibration_feeds(photos, 3)  # every style calibrated, not only the default one
    assert sorted(int(f["style"].argmax()) for f in feeds) == [0, 1, 2]
    path = export_onnx(with_adapters(base_model, tmp_path, rank), tmp_path / "a.onnx")
    quantize_int8(path, shared / "content")
    image = np.random.default_rng(0).integers(0, 256, (1, 40, 56, 3), dtype=np.uint8)
    exact = {s: Stylizer(path, style=s, backend="ort", precision="fp32")(image).astype(int) for s in STYLES}
    for style in STYLES:  # each style's int8 output is nearest its own float output (the adapted one too)
        approx = Stylizer(path, style=style, backend="ort", precision="int8")(image)
        assert min(STYLES, key=lambda s: np.abs(approx - exact[s]).mean()) == style


def test_stylize_style_flag_picks_blends_and_names_valid_styles(base_model, tmp_path, capsys):
    from PIL import Image

    Image.new("RGB", (40, 30), (90, 160, 30)).save(tmp_path / "p.png")
    args = [str(tmp_path / "p.png"), "-m", str(base_model), "-o", str(tmp_path / "out")]
    assert stylize_main([*args, "--style", "candy"]) == 0
    assert (tmp_path / "out" / "p_candy.jpg").is_file()
    assert stylize_main([*args, "--style", "wave=0.5,candy=0.5"]) == 0
    capsys.readouterr()
    assert stylize_main([*args, "--style", "monet"]) == 2
    err = capsys.readouterr().err
    assert "monet" in err and "mosaic, wave, candy" in err and err.count("\n") == 1
    for bad in ("wave=inf", "wave=inf,candy=1", "wave=1e308,candy=1e308", "wave=nan"):
        assert stylize_main([*args, "--style", bad]) == 2, bad  # would blend to NaN: a black picture
        err = capsys.readouterr().err
        assert "weights must be finite" in err and err.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p_candy.jpg", "p_wave0.5_candy0.5.jpg"]


def test_gallery_gives_a_multi_style_model_a_column_per_style_or_blend(multi_onnx, shared, tmp_path):
    from faststyle.commands import gallery as gallery_cmd
    from faststyle.image_io import load_rgb

    photo = [str(shared / "content" / "chicago.jpg")]
    every, strip = tmp_path / "every.png", tmp_path / "strip.png"
    assert gallery_cmd.main(["--content", *photo, "-m", str(multi_onnx), "--size", "48", "-o", str(every)]) == 0
    blends = ["a=0.5,c=0.5", "c"]
    args = ["--content", *photo, "-m", str(multi_onnx), "--styles", *blends, "--size", "48", "-o", str(strip)]
    assert gallery_cmd.main(args) == 0
    sheet, two = load_rgb(every), load_rgb(strip)
    assert sheet.shape[1] > two.shape[1] > 2 * 48  # photo + a, b, c columns against photo + two
    assert gallery_cmd.main([*args[:-2], "--styles", "nope", "-o", str(tmp_path / "x.png")]) == 2


def test_a_style_can_have_a_style_weight_of_its_own(vgg_features, tmp_path, shared, photos, capsys):
    from faststyle.loss.perceptual import PerceptualLoss

    torch.manual_seed(0)
    paintings = [torch.rand(1, 3, 40, 48), torch.rand(1, 3, 36, 36)]
    output, content, ids = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    loss_fn = PerceptualLoss(vgg_features, style_weight=1.0)
    loss_fn.set_styles(paintings)
    plain = loss_fn(output, content, ids, per_image=True)["style_each"]
    loss_fn.set_styles(paintings, [2.0, 6.0])
    own = loss_fn(output, content, ids, per_image=True)["style_each"]
    torch.testing.assert_close(own, plain * torch.tensor([2.0, 6.0]))

    ck = tmp_path / "ck"
    assert train_main(multi_args(shared, photos, ck, "--max-steps", "1", "--style-weight-for", "candy=0.5")) == 0
    assert load_model(ck / "multistyle.pth").hparams["style_weight_for"] == ["candy=0.5"]
    capsys.readouterr()
    assert train_main(multi_args(shared, photos, tmp_path / "typo", "--style-weight-for", "cnady=2")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cnady" in err and "mosaic, wave, candy" in err
    assert not (tmp_path / "typo" / "last.ckpt").exists()
    (tmp_path / "w.yaml").write_text("style_weight_for: [candy=5, mosaic=15]\n")
    assert (
        train_main(multi_args(shared, photos, tmp_path / "y", "--config", str(tmp_path / "w.yaml"), "--print-config"))
        == 0
    )
    assert "- candy=5.0\n- mosaic=15.0" in capsys.readouterr().out


def test_style_layer_weights_are_a_setting_of_the_run(tmp_path, shared, photos, capsys):
    from faststyle.quality.evaluate import objective_from

    ck = tmp_path / "ck"
    args = multi_args(shared, photos, ck, "--max-steps", "1", "--style-layer-weights", "1", "2", "1", "0")
    assert train_main(args) == 0
    hparams = load_model(ck / "multistyle.pth").hparams
    assert hparams["style_layer_weights"] == [1.0, 2.0, 1.0, 0.0]
    assert objective_from(hparams)[0]["style_layer_weights"] == [1.0, 2.0, 1.0, 0.0]  # evaluate scores the same
    capsys.readouterr()
    for bad in (["1", "2"], ["0", "0", "0", "0"], ["1", "1", "1", "-1"]):
        assert train_main(multi_args(shared, photos, tmp_path / "bad", "--style-layer-weights", *bad)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--style-layer-weights" in err, err
    assert not (tmp_path / "bad" / "last.ckpt").exists()


def test_a_style_can_have_more_of_the_draws(tmp_path, shared, photos, capsys):
    from faststyle.training.order import StyleOrder

    plain, shared_out = StyleOrder(3, seed=5), StyleOrder(3, seed=5, shares=[1, 4, 1])
    # one share each is the order runs always had: a seeded permutation of the styles per round
    g = torch.Generator().manual_seed(5 * 7_919 + 1)
    assert [plain(p) for p in range(3)] == torch.randperm(3, generator=g).tolist()
    draws = [shared_out(p) for p in range(60)]
    for r in range(10):  # every round of 6 draws holds style 1 four times, the others once
        assert sorted(draws[6 * r : 6 * r + 6]) == [0, 1, 1, 1, 1, 2]
    assert draws == [StyleOrder(3, seed=5, shares=[1, 4, 1])(p) for p in range(60)]  # a function of (seed, p)

    ck = tmp_path / "ck"
    assert train_main(multi_args(shared, photos, ck, "--max-steps", "1", "--style-share-for", "mosaic=3")) == 0
    assert load_model(ck / "multistyle.pth").hparams["style_share_for"] == ["mosaic=3"]
    for bad in ("mosiac=2", "mosaic=0", "mosaic=1.5"):
        capsys.readouterr()
        assert train_main(multi_args(shared, photos, tmp_path / "bad", "--style-share-for", bad)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--style-share-for" in err and bad.split("=")[0] in err
        assert not (tmp_path / "bad" / "last.ckpt").exists()


def test_a_style_can_have_style_layer_weights_of_its_own(vgg_features, tmp_path, shared, photos, capsys):
    from faststyle.loss.perceptual import PerceptualLoss
    from faststyle.quality.evaluate import objective_from

    torch.manual_seed(0)
    paintings = [torch.rand(1, 3, 40, 48), torch.rand(1, 3, 36, 36)]
    output, content, ids = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    rows = [[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    each = {}
    for name, weights in (("first", rows[0]), ("second", rows[1])):  # every style with one row
        loss_fn = PerceptualLoss(vgg_features, style_layer_weights=weights)
        loss_fn.set_styles(paintings)
        each[name] = loss_fn(output, content, ids, per_image=True)["style_each"]
    loss_fn = PerceptualLoss(vgg_features)
    loss_fn.set_styles(paintings, layer_weights=rows)  # style 0 the first row, style 1 the second
    mixed = loss_fn(output, content, ids, per_image=True)["style_each"]
    torch.testing.assert_close(mixed, torch.stack([each["first"][0], each["second"][1]]))

    ck = tmp_path / "ck"
    own = ["--style-layer-weights", "0.5", "2", "0.5", "0", "--style-layer-weights-for", "mosaic=0.5,2,0.5,0.25"]
    assert train_main(multi_args(shared, photos, ck, "--max-steps", "1", *own)) == 0
    hparams = load_model(ck / "multistyle.pth").hparams
    assert hparams["style_layer_weights_for"] == ["mosaic=0.5,2.0,0.5,0.25"]
    # evaluate scores each style with the weights it was trained with
    assert objective_from(hparams, "mosaic")[0]["style_layer_weights"] == [0.5, 2.0, 0.5, 0.25]
    assert objective_from(hparams, "candy")[0]["style_layer_weights"] == [0.5, 2.0, 0.5, 0.0]
    for bad in ("mosiac=1,1,1,1", "mosaic=1,1", "mosaic=0,0,0,0", "mosaic=1,1,1,-1"):
        capsys.readouterr()
        assert train_main(multi_args(shared, photos, tmp_path / "bad", "--style-layer-weights-for", bad)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--style-layer-weights-for" in err, err
        assert not (tmp_path / "bad" / "last.ckpt").exists()
