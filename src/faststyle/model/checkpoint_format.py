"""The checkpoint format's versions, and the one place that reads the older ones.

Both files faststyle writes, the final model `.pth` ({"format": FORMAT, "arch", "style",
"styles", "state_dict", "hparams"}) and Lightning's training `.ckpt` (its "hyper_parameters",
and a "state_dict" whose transform nets sit under "net." and, with --ema-decay,
"averaged.module."), carry "format_version": VERSION. Their generations, by the commit that
changed them:

    0  ffc0cbe  one style; a .ckpt keeps the data settings apart, in "datamodule_hyper_parameters"
    1  2ee7103  one declaration of the settings: a .ckpt holds all of them in "hyper_parameters"
    2  25590d4  many styles: instance-norm scales and shifts [C] -> one row per style [S, C], a
                "styles" list of records, the "style" setting a list of images
    3  2b8a456  full adapters (b0edb0c) correct the output conv too: "decoder.2.1.adapter_delta"
    4  17d4aef  each style record carries its "stroke_scale" (faststyle.style_record)
    5           the model's name is "name" alone: a .pth's "style" key (which read as one of
                its styles) becomes "name", and the settings' duplicate "style_name" goes

Low-rank adapters (f4c5237) and the running average (cf692d8) only added tensors that an older
file simply does not have, so they are no generation of their own. The version number itself
came after generation 4, so a file without one may be of any generation up to 4: every step
below therefore looks for the old layout it replaces and leaves a file that already has the new
one alone, and an unversioned file goes through all of them.

`upgrade` is what every reader calls (load_model, read_checkpoint, and the training system when
Lightning restores a run), so nothing else in the code knows that an old layout existed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from faststyle.errors import ModelError
from faststyle.style_record import with_stroke_scale

FORMAT = "faststyle-model"  # a final model file's "format"
VERSION = 5  # the generation written now
KEY = "format_version"  # where both kinds of file carry it (and the ONNX metadata)
OUTPUT_DELTA = "decoder.2.1.adapter_delta"  # the output conv's full adapter, new in generation 3
NET_PREFIXES = ("net.", "averaged.module.")  # a .ckpt's transform nets: the live one and the average


def upgrade(obj: dict[str, Any], source: str = "") -> dict[str, Any]:
    """A checkpoint as torch.load gives it (a .pth or a .ckpt) -> the same in the current format.

    A new dict (the tensors shared, none changed in place), stamped with VERSION; anything that
    is neither kind of file comes back as it was, for the caller to refuse. `source` names the
    file in errors and gives an unnamed single-style model its name. ModelError for a file of a
    version this code does not know.
    """
    kind = _kind(obj)
    if kind is None:
        return obj
    version = obj.get(KEY, 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ModelError(f"{source}: not a faststyle model (its {KEY} is {version!r}, not a version number)")
    if version > VERSION:
        raise ModelError(
            f"{source}: written by a newer faststyle; upgrade faststyle "
            f"(checkpoint format {version}, this one reads up to {VERSION})"
        )
    obj = dict(obj)
    for step in STEPS[version:]:
        step(obj, kind, Path(source).stem or "style")
    obj[KEY] = VERSION
    return obj


def upgrade_in_place(checkpoint: dict[str, Any], source: str = "") -> None:
    """`upgrade`, into the same dict: what a LightningModule's on_load_checkpoint needs, since
    Lightning goes on to load the weights and optimizer state from the dict it handed over."""
    upgraded = upgrade(checkpoint, source)
    checkpoint.clear()
    checkpoint.update(upgraded)


def _kind(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return None
    if obj.get("format") == FORMAT:
        return "pth"
    return "ckpt" if isinstance(obj.get("hyper_parameters"), dict) else None


def _state(obj: dict[str, Any]) -> dict[str, Any]:
    """The file's weights, copied into `obj` like _hparams (none when it has none: the reader refuses it)."""
    state = obj.get("state_dict")
    if not isinstance(state, dict):
        return {}
    obj["state_dict"] = state = dict(state)
    return state


def _hparams(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """The file's settings, copied into `obj` so that changing them leaves the caller's dict alone."""
    key = "hparams" if kind == "pth" else "hyper_parameters"
    saved = obj.get(key)
    hp: dict[str, Any] = dict(saved) if isinstance(saved, dict) else {}
    obj[key] = hp
    return hp


# --- the steps: STEPS[v] turns generation v into v + 1 -------------------------------------


def _merge_data_settings(obj: dict[str, Any], kind: str, name: str) -> None:
    """0 -> 1: the datamodule's own settings join the others (the system's win where both had one)."""
    data = obj.pop("datamodule_hyper_parameters", None)
    if kind == "ckpt" and isinstance(data, dict):
        obj["hyper_parameters"] = {**data, **obj["hyper_parameters"]}


def _multi_style(obj: dict[str, Any], kind: str, name: str) -> None:
    """1 -> 2: nn.InstanceNorm2d's [C] scales and shifts become the one row [1, C] of a single
    style (Adam's moments for them too, so a run resumes), and the one style gets its record."""
    hp = _hparams(obj, kind)
    image = hp.get("style")
    if isinstance(image, str):  # the one style image, as a list of one
        hp["style"] = [image]
    image = image[0] if isinstance(image, list) and image else image
    if kind == "pth":
        name = str(obj.get("style") or name)
    else:
        name = str(hp.get("style_name") or hp.get("name") or "style")
    record = {"name": name, "image": image, "style_size": hp.get("style_size")}
    holder = obj if kind == "pth" else hp
    if not holder.get("styles"):
        holder["styles"] = [record]
    state = _state(obj)
    rows = [k for k, v in state.items() if k.endswith(".weight") and _is_vector(v)]  # conv weights are 4-d
    rows += [k[: -len("weight")] + "bias" for k in rows if k[: -len("weight")] + "bias" in state]
    for key in rows:
        state[key] = state[key][None]
    if kind == "ckpt":
        _unsqueeze_moments(obj, [k for k in state if k.startswith(NET_PREFIXES[0])], set(rows))


def _is_vector(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 1


def _unsqueeze_moments(obj: dict[str, Any], net_keys: list[str], rows: set[str]) -> None:
    """An optimizer's per-parameter state for the reshaped rows, reshaped alike. Runs of this
    generation trained every weight of the net in one Adam group, so its parameter ids follow
    the net's state-dict order; a state of any other shape is left for Lightning to refuse."""
    states = obj.get("optimizer_states")
    if not isinstance(states, list):
        return
    obj["optimizer_states"] = states = [dict(s) if isinstance(s, dict) else s for s in states]
    for opt in states:
        groups, per_param = (opt.get("param_groups"), opt.get("state")) if isinstance(opt, dict) else (None, None)
        if not isinstance(groups, list) or not isinstance(per_param, dict):
            continue
        ids = [i for g in groups if isinstance(g, dict) for i in g.get("params", [])]
        if len(ids) != len(net_keys):
            continue
        opt["state"] = per_param = dict(per_param)
        for pid, key in zip(ids, net_keys, strict=True):
            if key in rows and isinstance(per_param.get(pid), dict):
                per_param[pid] = {n: t[None] if _is_vector(t) else t for n, t in per_param[pid].items()}


def _output_correction(obj: dict[str, Any], kind: str, name: str) -> None:
    """2 -> 3: full adapters saved before the output conv had one get a correction of zeros,
    which is what those files computed."""
    state = _state(obj)
    prefixes = [""] if kind == "pth" else list(NET_PREFIXES)
    for prefix in prefixes:
        weight = state.get(prefix + "decoder.2.1.weight")  # [3, C, 9, 9]
        deltas = [v for k, v in state.items() if k.startswith(prefix) and k.endswith("adapter_delta")]
        if prefix + OUTPUT_DELTA in state or not deltas or not isinstance(weight, torch.Tensor):
            continue
        state[prefix + OUTPUT_DELTA] = deltas[0].new_zeros(deltas[0].shape[0], weight.shape[0], weight[0].numel())


def _stroke_scales(obj: dict[str, Any], kind: str, name: str) -> None:
    """3 -> 4: records without a stroke scale get their style size (style_record says why)."""
    holder = obj if kind == "pth" else _hparams(obj, kind)
    records = holder.get("styles")
    if isinstance(records, list) and all(isinstance(r, dict) for r in records):
        holder["styles"] = with_stroke_scale(records)


def _one_name(obj: dict[str, Any], kind: str, name: str) -> None:
    """4 -> 5: the model's name under "name" alone."""
    if kind == "pth" and "style" in obj:
        obj.setdefault("name", obj.pop("style"))
    hp = _hparams(obj, kind)
    old = hp.pop("style_name", None)
    if old and not hp.get("name"):
        hp["name"] = old


STEPS: tuple[Callable[[dict[str, Any], str, str], None], ...] = (
    _merge_data_settings,
    _multi_style,
    _output_correction,
    _stroke_scales,
    _one_name,
)
assert len(STEPS) == VERSION, "a new generation needs its step"
