"""Using the hardware: precision chosen from what the CPU can do, bf16 training that matches
fp32, every inference engine held to the parity gate, and forced choices the machine cannot
run refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from faststyle import cpu
from faststyle.allocator import glibc_version
from faststyle.commands.stylize import main as stylize_main
from faststyle.errors import UserError
from faststyle.export.metadata import int8_path
from faststyle.hardware import transform_net_format
from faststyle.inference import choose

AMX_XEON = {"avx2", "avx512f", "amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni"}
EPYC_AVX2 = {"avx2", "fma", "sse4_2"}


@pytest.mark.parametrize(
    "flags, expected",
    [(AMX_XEON, "bf16-mixed"), ({"avx512_bf16"}, "bf16-mixed"), (EPYC_AVX2, "32-true"), (set(), "32-true")],
)
def test_precision_auto_follows_the_cpu(monkeypatch, flags, expected):
    from faststyle import hardware

    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    precision, why = hardware.choose_precision("auto", "auto")
    assert precision == expected and why
    assert hardware.choose_precision("32-true", "auto")[0] == "32-true"  # an explicit choice is kept


def test_bf16_step_is_finite_and_close_to_fp32(vgg_features):
    """One training step's loss on a fixed batch, bf16 as train.py runs it on a CPU vs fp32."""
    from faststyle.loss.perceptual import PerceptualLoss
    from faststyle.model.transform_net import TransformNet

    torch.manual_seed(0)
    net = TransformNet("tiny")
    loss_fn = PerceptualLoss(vgg_features)
    loss_fn.set_style(torch.rand(1, 3, 96, 96))
    x = torch.rand(2, 3, 64, 64)
    y = net(x)
    full = loss_fn(y, x)["loss"]
    with torch.autocast("cpu", torch.bfloat16):
        half = loss_fn(y, x)["loss"]
    assert half.dtype == torch.float32 and torch.isfinite(half)  # the loss itself stays float32
    assert abs(float(half) - float(full)) < 0.02 * float(full)
    half.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


def test_every_engine_passes_the_parity_gate_on_a_photo(model_onnx, shared):
    from faststyle.image_io import fit_rgb, load_rgb

    photo = fit_rgb(load_rgb(shared / "content" / "tubingen.jpg"), max_size=256)
    reference = choose.open_engine(model_onnx, "ort", "fp32")(photo)
    options = choose.candidates(model_onnx)
    if not choose.openvino_installed():
        pytest.skip("openvino is not installed")
    assert ("openvino", "fp32") in options
    for backend, precision in options:
        result = choose.trial(choose.open_engine(model_onnx, backend, precision), reference, photo, runs=1)
        assert result.correct, result
        if precision == "fp32":
            assert result.max_levels <= 1, result


def test_chooser_takes_the_fastest_correct_engine_and_remembers(model_onnx, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSTYLE_CACHE", str(tmp_path))
    options = [("ort", "fp32"), ("ort", "int8"), ("openvino", "bf16")]
    monkeypatch.setattr(choose, "candidates", lambda *a, **k: options)
    trials = [
        choose.Trial("ort", "fp32", 100.0, 0.0, 0, 99.0),
        choose.Trial("ort", "int8", 20.0, 2.6, 60, 35.0),  # fastest, but outside the gate
        choose.Trial("openvino", "bf16", 30.0, 0.3, 11, 52.0),
    ]
    calls = []
    monkeypatch.setattr(choose, "measure", lambda *a, **k: calls.append(1) or trials)
    assert choose.choose(model_onnx, quiet=True) == ("openvino", "bf16")
    assert choose.choose(model_onnx, quiet=True) == ("openvino", "bf16")
    assert calls == [1], "measured once, then read from the cache"


def test_choosing_among_one_backend_says_the_winner_without_ort_timed(model_onnx, tmp_path, monkeypatch, capsys):
    """--backend openvino measures only OpenVINO's paths: the report must not need ORT fp32's time."""
    monkeypatch.setenv("FASTSTYLE_CACHE", str(tmp_path))
    monkeypatch.setattr(choose, "candidates", lambda *a, **k: [("openvino", "fp32"), ("openvino", "bf16")])
    trials = [
        choose.Trial("openvino", "fp32", 50.0, 0.0, 1, 80.0),
        choose.Trial("openvino", "bf16", 20.0, 0.3, 11, 52.0),
    ]
    monkeypatch.setattr(choose, "measure", lambda *a, **k: trials)
    assert choose.choose(model_onnx, backend="openvino") == ("openvino", "bf16")
    err = capsys.readouterr().err
    assert "openvino bf16 (within 11 levels)" in err and "ONNX Runtime fp32," not in err


def test_no_correct_path_is_one_line_naming_the_fix(model_onnx, tmp_path, monkeypatch):
    monkeypatch.setenv("FASTSTYLE_CACHE", str(tmp_path))
    monkeypatch.setattr(choose, "candidates", lambda *a, **k: [("ort", "int8"), ("openvino", "bf16")])
    trials = [choose.Trial("ort", "int8", 20.0, 2.6, 60, 35.0), choose.Trial("openvino", "bf16", 30.0, 1.5, 30, 40.0)]
    monkeypatch.setattr(choose, "measure", lambda *a, **k: trials)
    with pytest.raises(UserError, match=r"openvino bf16 differs .* 30 at most .*--precision fp32"):
        choose.choose(model_onnx)


def test_forced_paths_the_machine_cannot_run_are_one_line(model_onnx, tmp_path, monkeypatch, capsys):
    from PIL import Image

    Image.new("RGB", (32, 24), (10, 200, 90)).save(tmp_path / "p.png")
    base = [str(tmp_path / "p.png"), "-m", str(model_onnx), "-o", str(tmp_path / "out")]
    assert stylize_main([*base, "--precision", "int8"]) == 2  # no model.int8.onnx beside it
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "faststyle export --int8" in err
    monkeypatch.setattr(cpu, "cpu_flags", lambda: EPYC_AVX2)
    if choose.openvino_installed():
        assert stylize_main([*base, "--backend", "openvino", "--precision", "bf16"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no native bf16" in err
    monkeypatch.setattr(choose, "openvino_installed", lambda: False)
    import builtins

    real_import = builtins.__import__
    monkeypatch.setattr(
        builtins,
        "__import__",
        lambda name, *a, **k: (
            (_ for _ in ()).throw(ImportError(name)) if name == "openvino" else real_import(name, *a, **k)
        ),
    )
    assert stylize_main([*base, "--backend", "openvino"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'faststyle-transfer[openvino]'" in err


def test_auto_runs_torch_on_a_gpu_this_onnxruntime_cannot_use(model_pth, model_onnx, tmp_path, monkeypatch, capsys):
    from faststyle.inference import load as stylizers
    from faststyle.inference import torch_backend

    made = []
    monkeypatch.setattr(stylizers, "gpu_only_for_torch", lambda: True)
    monkeypatch.setattr(torch_backend, "TorchStylizer", lambda path, device, *a: made.append((path, device)) or "torch")
    # a bundled name: its checkpoint runs on the GPU, and stylize says so
    assert stylizers.load_stylizer("starry_night", quiet=False) == "torch"
    assert made[-1][0].name == "starry_night.pth" and made[-1][1] == "auto"
    assert "runs on the GPU with PyTorch" in capsys.readouterr().err
    # a forced engine or device is obeyed, and an ONNX file with no checkpoint beside it stays on ONNX Runtime
    assert stylizers.load_stylizer(model_pth, backend="ort", device="cpu").backend == "ort"
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(model_onnx.read_bytes())
    assert stylizers.load_stylizer(lone).backend in ("ort", "openvino")
    assert len(made) == 1


def test_int8_export_writes_a_checked_twin(model_pth, tmp_path, shared, capsys):
    from faststyle.commands.cli import main

    out = tmp_path / "m.onnx"
    assert main(["export", str(model_pth), "-o", str(out), "--int8", "--calibration", str(shared / "content")]) == 0
    twin = int8_path(out)
    assert twin.is_file() and twin.stat().st_size < out.stat().st_size
    engine = choose.open_engine(out, "ort", "int8")
    assert engine.precision == "int8" and engine.style == "random"  # the metadata came along
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    assert engine(image).shape == image.shape


# A child that frees a 64 MiB block and prints how much of it the process still holds (MiB).
FREED_BLOCK_KEPT = """
import ctypes, sys
from faststyle.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    print(keep_freed_memory(), file=sys.stderr)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss()
block = libc.malloc(64 << 20)
ctypes.memset(block, 1, 64 << 20)
libc.free(ctypes.c_void_p(block))
print(rss() - before)
"""


@pytest.mark.skipif(not glibc_version(), reason="glibc only")
def test_freed_memory_is_kept_for_reuse_unless_the_user_tuned_malloc():

    def held(mode: str, **env: str) -> float:
        run = subprocess.run(
            [sys.executable, "-c", FREED_BLOCK_KEPT, mode], env={**os.environ, **env}, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return float(run.stdout)

    assert held("default") < 8  # glibc's default: a block this large is unmapped on free
    assert held("keep") > 56  # kept: the next step's tensors reuse these pages
    assert held("keep", FASTSTYLE_MALLOC="default") < 8  # the user's choice wins
    assert held("keep", MALLOC_TRIM_THRESHOLD_="0") < 8  # and so do glibc's own tunables


def test_keep_freed_memory_says_why_it_left_malloc_alone(monkeypatch):
    from faststyle import allocator

    def no_libc(*_args):
        raise AssertionError("mallopt must not be called")

    monkeypatch.setattr(allocator.ctypes, "CDLL", no_libc)
    monkeypatch.setattr(allocator, "glibc_version", lambda: "glibc 2.36")
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libjemalloc.so.2")
    assert allocator._apply() == "another allocator is preloaded: left as it is"
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert allocator._apply() == "GLIBC_TUNABLES is set: left as given"
    monkeypatch.setattr(allocator, "glibc_version", lambda: "")
    assert allocator._apply() == "not glibc: left as it is"


def fake_cpuinfo(tmp_path, family: int, flags: str):
    path = tmp_path / f"cpuinfo{family}"
    path.write_text(
        f"processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: 2\n"
        f"model name\t: AMD EPYC\nflags\t\t: {flags}\n"
    )
    return str(path)


def test_cpus_that_share_a_model_name_are_told_apart(tmp_path, monkeypatch, model_onnx):
    # A virtual machine's "AMD EPYC" may be a Zen 4 or a Zen 5: a remembered engine choice and
    # a benchmark report must not carry over from one to the other.
    flags = "fpu avx2 avx512f avx512_bf16 avx512_vnni"
    monkeypatch.setattr(cpu, "CPUINFO", fake_cpuinfo(tmp_path, 25, flags))
    zen4 = cpu.cpu_summary(), choose.cache_key(model_onnx, [], 2)
    monkeypatch.setattr(cpu, "CPUINFO", fake_cpuinfo(tmp_path, 26, flags))
    zen5 = cpu.cpu_summary(), choose.cache_key(model_onnx, [], 2)
    assert zen4[0].startswith("AMD EPYC (family 25 model 2), ") and "avx512_bf16" in zen4[0]
    assert zen5[0].startswith("AMD EPYC (family 26 model 2), ")
    assert zen4[1] != zen5[1]
    monkeypatch.setattr(cpu, "CPUINFO", str(tmp_path / "missing"))
    assert cpu.cpu_generation() == "" and cpu.cpu_flags() == set()


def test_the_transform_net_trains_nchw_on_a_cpu_and_channels_last_on_a_gpu():
    # No GPU is needed to ask: the rule only reads the device's type.
    assert transform_net_format(torch.device("cpu")) == torch.contiguous_format
    assert transform_net_format(torch.device("cuda")) == torch.channels_last
