"""Training's utilisation figures: the FLOPs a step really does, against the device's measured peak."""

from __future__ import annotations

import lightning.pytorch as L
import pytest
import torch
from torch.utils.data import DataLoader

from faststyle.hardware import matmul_peak_tflops
from faststyle.training import callbacks
from faststyle.training.callbacks import Throughput

IN, OUT, BATCH = 64, 32, 8


class Linear(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(IN, OUT, bias=False)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.layer(batch["image"]).square().mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), 0.1)


def fit(tmp_path, steps: int, resume: str | None = None) -> Throughput:
    throughput = Throughput(torch.float32)
    trainer = L.Trainer(max_steps=steps, callbacks=[throughput], logger=False, default_root_dir=tmp_path)
    data = DataLoader([{"image": torch.randn(IN)} for _ in range(3 * BATCH)], batch_size=BATCH)
    trainer.fit(Linear(), data, ckpt_path=resume)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    return throughput


def test_the_counted_flops_are_the_steps_matrix_products(tmp_path, capsys, monkeypatch):
    throughput = fit(tmp_path, 3)
    # forward x W^T and backward dY^T x (the weight's gradient; the data needs none): 2 products of
    # 2 x IN x OUT FLOPs per image
    assert throughput.flops_per_image == 2 * 2 * IN * OUT
    assert throughput.peak_tflops > 0
    out = capsys.readouterr().out
    assert "GFLOP per image" in out and "% of the peak (mean of the run)" in out
    # a resumed run takes the count from its checkpoint: no step of it is counted again
    monkeypatch.setattr(callbacks, "FlopCounterMode", None)  # counting now would fail
    resumed = fit(tmp_path, 5, resume=str(tmp_path / "last.ckpt"))
    assert resumed.flops_per_image == throughput.flops_per_image
    assert "% of the peak" in capsys.readouterr().out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_matmul_peak_is_a_plausible_cpu_rate(dtype):
    # between 1 GFLOP/s and 100 TFLOP/s: a unit slip (GFLOP vs TFLOP, n^2 vs n^3) lands outside
    assert 1e-3 < matmul_peak_tflops(torch.device("cpu"), dtype, runs=1) < 100


def test_measuring_the_peak_leaves_the_random_stream_alone():
    # it runs at the start of every training run: an exact --resume needs the stream untouched
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    matmul_peak_tflops(torch.device("cpu"), torch.float32, runs=1)
    assert torch.equal(torch.rand(4), expected)


def test_the_peak_is_measured_before_the_loader_starts(tmp_path, monkeypatch):
    # a loader's workers decoding photos during the measurement took one of 2 cores and halved
    # the peak, which put training steps at 117% of it
    events: list[str] = []

    class Loader(DataLoader):
        def __iter__(self):
            events.append("loader")
            return super().__iter__()

    def peak(device: torch.device, dtype: torch.dtype) -> float:
        events.append("peak")
        return 1.0

    monkeypatch.setattr(callbacks, "matmul_peak_tflops", peak)
    trainer = L.Trainer(max_steps=1, callbacks=[Throughput(torch.float32)], logger=False, default_root_dir=tmp_path)
    trainer.fit(Linear(), Loader([{"image": torch.randn(IN)} for _ in range(BATCH)], batch_size=BATCH))
    assert events[:2] == ["peak", "loader"]
