"""Rebuild a transform net from a file alone: a Lightning `.ckpt` or a final model `.pth`.

The final model file is what ships: the net's weights plus everything needed to know
what it is (arch, name, its styles in row order, training recipe), in a plain dict that
needs no Lightning:
    {"format": "faststyle-model", "format_version": int, "arch": str, "name": str (the model's
     name), "styles": [{"name", "image", "style_size", "stroke_scale"}, ...], "state_dict": {...},
     "hparams": {...}}
A model that paints any painting (`--finetune predictor`) also holds "rows" (its net's norm rows,
of which the first len(styles) are its named styles) and "predictor" (the StylePredictor's weights
but for its frozen VGG trunk, which is the ImageNet VGG-16's first layers: read again from the
loss network's weights, faststyle.loss.vgg, it keeps the file 7 MB smaller).
Files of earlier formats are read through `faststyle.model.checkpoint_format.upgrade`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from faststyle.errors import ModelError
from faststyle.image_io import atomic_path
from faststyle.loss.vgg import load_vgg16_features
from faststyle.model.adapters import adapter_shape
from faststyle.model.checkpoint_format import FORMAT, KEY, VERSION, upgrade
from faststyle.model.style_predictor import TRUNK_LAYERS, StylePredictor
from faststyle.model.transform_net import TransformNet
from faststyle.style_record import StyleRecord, safe_name, with_stroke_scale


@dataclass
class LoadedModel:
    net: TransformNet
    name: str  # the model's name
    hparams: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    styles: list[StyleRecord] = field(default_factory=list)  # one per named norm row, the net's first rows
    predictor: StylePredictor | None = None  # a painting -> weights over all net.num_styles rows

    @property
    def style_names(self) -> list[str]:
        return [s["name"] for s in self.styles]


def _read(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise ModelError(f"{path}: a folder, not a model file (pass a .ckpt or .pth file)")
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    if path.suffix.lower() == ".onnx":
        raise ModelError(f"{path}: an exported ONNX file; pass the .ckpt or .pth checkpoint it came from")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(
            f"{path}: not a faststyle model (cannot read it as a checkpoint: {type(e).__name__})"
        ) from None
    if not isinstance(obj, dict):
        raise ModelError(f"{path}: not a faststyle model")
    return upgrade(obj, str(path))


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """A .ckpt from training or a final .pth -> the net in eval mode, with its metadata."""
    path = Path(path)
    obj = _read(path)  # upgraded: every file below is in the current format
    saved = obj.get("state_dict")
    if obj.get("format") == FORMAT and isinstance(saved, dict):
        hp, state, name = obj.get("hparams") or {}, saved, obj.get("name") or path.stem
        arch = obj.get("arch", hp.get("arch", "johnson"))
        styles = obj.get("styles") or []
        predictor_state = obj.get("predictor")
    elif isinstance(saved, dict) and isinstance(obj.get("hyper_parameters"), dict):
        hp = dict(obj["hyper_parameters"])
        # a run with --ema-decay holds its model as the running average, beside the live net
        prefix = "averaged.module." if any(k.startswith("averaged.module.") for k in saved) else "net."
        state = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
        name, arch = hp.get("name") or "style", hp.get("arch", "johnson")
        styles = hp.get("styles") or []
        predictor_state = {k[10:]: v for k, v in saved.items() if k.startswith("predictor.")} or None
    else:
        raise ModelError(f"{path}: not a faststyle model (no transform-net weights inside)")
    rows = int(obj.get("rows") or hp.get("style_embedding") or 0) if predictor_state else len(styles)
    if predictor_state and not any(k.startswith("trunk.") for k in predictor_state):
        # a model file: its predictor's trunk is the loss network's first layers (a one-line UserError
        # where no VGG-16 weights can be had)
        trunk = load_vgg16_features()[:TRUNK_LAYERS].state_dict()
        predictor_state = {**predictor_state, **{f"trunk.{k}": v for k, v in trunk.items()}}
    try:
        adapted, rank = adapter_shape(state)  # styles added over a frozen base carry adapters
        net = TransformNet(arch, num_styles=rows, adapter_rank=rank, adapted_styles=adapted)
        net.load_state_dict(state)
        predictor = None
        if predictor_state:
            predictor = StylePredictor(rows, len(styles))
            predictor.load_state_dict(predictor_state)
    except Exception as e:
        raise ModelError(f"{path}: weights do not fit a '{arch}' transform net ({type(e).__name__})") from None
    # the name comes from the file: it names folders and files (export/NAME.onnx, a Triton
    # repository's NAME/), so it is made one plain file-name component, never a path or '..'
    loaded = LoadedModel(net.eval(), safe_name(name), hp, str(path), with_stroke_scale(styles))
    loaded.predictor = None if predictor is None else predictor.eval()
    return loaded


def save_model(
    net: TransformNet,
    path: str | os.PathLike[str],
    name: str,
    hparams: dict[str, Any] | None = None,
    styles: Sequence[Mapping[str, Any]] | None = None,
    predictor: StylePredictor | None = None,
) -> Path:
    """Write the final model file atomically (temp file + rename). `name` names the model;
    `styles` lists its styles in row order (default: one, named like the model); a `predictor`
    makes it a model that paints any painting, its net's rows past the styles its embedding's."""
    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    plain = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in (hparams or {}).items()
        if isinstance(v, (str, int, float, bool, tuple, list, type(None)))
    }
    styles = with_stroke_scale(styles or [{"name": name, "image": None, "style_size": None}])
    if len(styles) != net.num_styles and (predictor is None or predictor.rows != net.num_styles):
        raise ValueError(f"{len(styles)} style names for a net of {net.num_styles} styles")
    obj = {
        "format": FORMAT,
        KEY: VERSION,
        "arch": net.arch,
        "name": name,
        "styles": styles,
        "state_dict": state,
        "hparams": plain,
    }
    if predictor is not None:
        obj |= {"rows": net.num_styles, "predictor": predictor_weights(predictor)}
    return write_torch(obj, path)


def write_torch(obj: object, path: str | os.PathLike[str], durable: bool = False) -> Path:
    """torch.save, atomically, with a full disk as one UserError line naming `path`.

    torch's own writer reports a failed write as a RuntimeError about stream positions; so the
    object is serialised in memory (a few MB to tens of MB here) and written with plain file
    I/O, whose OSError (no space, quota, read-only) atomic_path turns into that line.
    `durable`: fsync before the rename, so a crash right after leaves the new file, not none.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(buffer.getbuffer())
        if durable:
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def predictor_weights(predictor: StylePredictor) -> dict[str, torch.Tensor]:
    """What a model file keeps of a style predictor: all but its frozen VGG trunk."""
    return {k: v.detach().cpu() for k, v in predictor.state_dict().items() if not k.startswith("trunk.")}
