"""The torch backend of the stylizer contract, for .ckpt/.pth models, on any torch device."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from faststyle.blend import StyleSpec, check_weights, style_weights, to_rows
from faststyle.cpu import cpu_has_bf16
from faststyle.errors import UserError
from faststyle.export.layouts import PixelStylizer
from faststyle.hardware import pick_device, transform_net_format
from faststyle.inference.painted import no_predictor, read_painting
from faststyle.inference.stylizer import check_pixels, no_images
from faststyle.model.checkpoint import load_model
from faststyle.model.phase_conv import inference_net
from faststyle.pixels import array_to_net


class TorchStylizer:
    """uint8 [H, W, 3] or [N, H, W, 3] -> stylized uint8 of the same shape, with PyTorch."""

    backend = "torch"

    def __init__(
        self,
        path: str | os.PathLike[str],
        device: str = "auto",
        threads: int | None = None,
        style: StyleSpec = None,
        precision: str = "auto",
    ):
        self.device = pick_device(device)
        # auto: float32, the reference; bf16 (autocast) where the hardware runs it natively
        self.precision = "fp32" if precision == "auto" else precision
        if self.precision not in ("fp32", "bf16"):
            raise UserError(f"--backend torch runs fp32 or bf16, not {self.precision}")
        if self.precision == "bf16" and self.device.type == "cpu" and not cpu_has_bf16():
            raise UserError("--precision bf16: this CPU has no native bf16 (amx_bf16 or avx512_bf16)")
        if threads:
            torch.set_num_threads(threads)
        loaded = load_model(path)
        self.path, self.styles = Path(path), loaded.style_names
        self.rows = loaded.net.num_styles  # more than the styles in a model that paints any painting
        weights, label = style_weights(style, self.styles)
        weights = to_rows(weights, self.rows)
        self.style = loaded.name if len(self.styles) == 1 else label
        self.weights = torch.from_numpy(weights).to(self.device)  # [S]
        self.hparams: dict[str, Any] = dict(loaded.hparams)
        # the export's faster equivalent form (1.3x plain eager at 512 px, bench/run.py), in the
        # layout the net trains in: NCHW on a CPU, where its instance norms return NCHW and a
        # channels-last net copies every activation back at each pad (Zen 5, 1024 px: 1.20x fp32,
        # 1.29x bf16 on the slim net)
        net = inference_net(loaded.net).to(memory_format=transform_net_format(self.device))
        self.module = PixelStylizer(net).eval().to(self.device)

    def __repr__(self) -> str:
        return f"TorchStylizer({str(self.path)!r}, style={self.style!r}, device={str(self.device)!r})"

    def __call__(self, image: NDArray[np.uint8], weights: NDArray[np.float32] | None = None) -> NDArray[np.uint8]:
        batch = check_pixels(image)
        chosen = check_weights(weights, self.styles, self.rows)
        if not len(batch):
            return no_images(image)
        style = self.weights if chosen is None else torch.from_numpy(chosen).to(self.device)
        bf16 = torch.autocast(self.device.type, torch.bfloat16, enabled=self.precision == "bf16")
        with torch.inference_mode(), bf16:
            # a read-only array (np.asarray of a PIL image) is copied: torch warns on those otherwise
            pixels = torch.from_numpy(np.require(batch, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"])).to(self.device)
            out: NDArray[np.uint8] = self.module(pixels, style).cpu().numpy()
        return out[0] if np.ndim(image) == 3 else out


def torch_embedding(path: str | os.PathLike[str], painting: str | os.PathLike[str]) -> NDArray[np.float32]:
    """A checkpoint's style predictor run in torch on `painting` -> float32 [R] (what its predictor
    graph gives, without exporting anything)."""
    loaded = load_model(path)
    if loaded.predictor is None:
        raise no_predictor(path)
    with torch.inference_mode():
        embedding: NDArray[np.float32] = loaded.predictor(array_to_net(read_painting(painting)))[0].numpy()
    return embedding
