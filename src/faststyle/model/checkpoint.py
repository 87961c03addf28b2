"""Rebuild a transform net from a file alone: a Lightning `.ckpt` or a final model `.pth`.

The final model file is what ships: the net's weights plus everything needed to know
what it is (arch, style, training recipe), in a plain dict that needs no Lightning:
    {"format": "faststyle-model", "arch": str, "style": str, "state_dict": {...}, "hparams": {...}}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from faststyle.errors import ModelError
from faststyle.image_io import atomic_path
from faststyle.model.transform_net import TransformNet

FORMAT = "faststyle-model"


@dataclass
class LoadedModel:
    net: TransformNet
    style: str
    hparams: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(
            f"{path}: not a faststyle model (cannot read it as a checkpoint: {type(e).__name__})"
        ) from None
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: not a faststyle model")
    return obj


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """A .ckpt from training or a final .pth -> the net in eval mode, with its metadata."""
    path = Path(path)
    obj = _read(path)
    if obj.get("format") == FORMAT:
        hp, state, style = obj.get("hparams", {}), obj["state_dict"], obj.get("style", path.stem)
        arch = obj.get("arch", hp.get("arch", "johnson"))
    elif "state_dict" in obj and "hyper_parameters" in obj:
        hp = dict(obj["hyper_parameters"])
        state = {k[len("net.") :]: v for k, v in obj["state_dict"].items() if k.startswith("net.")}
        style, arch = hp.get("style_name", "style"), hp.get("arch", "johnson")
    else:
        raise ModelError(f"{path}: not a faststyle model (no transform-net weights inside)")
    try:
        net = TransformNet(arch)
        net.load_state_dict(state)
    except Exception as e:
        raise ModelError(f"{path}: weights do not fit a '{arch}' transform net ({type(e).__name__})") from None
    return LoadedModel(net.eval(), style, hp, str(path))


def save_model(
    net: TransformNet, path: str | os.PathLike[str], style: str, hparams: dict[str, Any] | None = None
) -> Path:
    """Write the final model file atomically (temp file + rename)."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    plain = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in (hparams or {}).items()
        if isinstance(v, (str, int, float, bool, tuple, list, type(None)))
    }
    obj = {"format": FORMAT, "arch": net.arch, "style": style, "state_dict": state, "hparams": plain}
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path
