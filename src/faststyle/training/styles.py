"""Which styles a run learns, what they and the run are called, and what a --base model brings.

A style is recorded in every checkpoint as {"name", "image", "style_size", "stroke_scale"}
(faststyle.style_record): the name the user picks it by (`stylize --style NAME`), the image its
targets were computed from, the size that image was to be shrunk to, and the longer side it
really had (its stroke scale). The list's order is the order of the net's instance-norm rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from faststyle.errors import UserError
from faststyle.image_io import IMAGE_SUFFIXES, load_rgb, pillow_limit
from faststyle.loss.defaults import MIN_VGG_SIDE
from faststyle.model.adapters import ADAPTER_PARAMS, AdaptedConv2d
from faststyle.model.checkpoint import LoadedModel, load_model
from faststyle.model.transform_net import CondInstanceNorm, TransformNet
from faststyle.model_files import resolve_model
from faststyle.painting import predictor_pixels
from faststyle.pixels import array_to_net
from faststyle.scan import expand_inputs
from faststyle.style_record import StyleRecord, painted_side
from faststyle.training.config import TrainConfig

MULTI_STYLE_NAME = "multistyle"


def expand_styles(specs: list[str]) -> list[Path]:
    """--style arguments (files, folders of images, globs) -> image files, in the given order."""
    files, errors = expand_inputs(specs, suffixes=IMAGE_SUFFIXES)
    if errors:
        raise UserError(f"--style {errors[0]}")
    names = [p.stem for p in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"--style: two images are named {twice[0]!r}; styles are picked by file name, rename one")
    for path in files:
        load_rgb(path)  # a missing or broken style image fails now, not after setup
    return files


def check_style_sizes(paths: list[Path], style_size: int | None) -> None:
    """A style image too small (or too thin) for VGG's poolings, once shrunk to --style-size."""
    for path in paths:  # each already read once by expand_styles, so it opens
        with pillow_limit(), Image.open(path) as image:
            w, h = image.size
        scale = min(1.0, style_size / max(w, h)) if style_size else 1.0
        if min(w, h) * scale < MIN_VGG_SIDE:
            shrunk = f", {round(w * scale)}x{round(h * scale)} at --style-size {style_size}" if scale < 1 else ""
            raise UserError(
                f"--style {path}: {w}x{h} px{shrunk}; a style image needs at least {MIN_VGG_SIDE} px on its "
                "shorter side (use a larger image, or a larger --style-size)"
            )


def style_entries(paths: list[Path], style_size: int) -> list[StyleRecord]:
    def stroke_scale(path: Path) -> int:
        try:
            with pillow_limit(), Image.open(path) as image:  # the header only: no decode
                return painted_side(int(max(image.size)), style_size)
        except OSError:  # a system built without its images (a test, a rebuilt checkpoint): as asked
            return style_size

    return [
        StyleRecord(name=p.stem, image=str(p.resolve()), style_size=style_size, stroke_scale=stroke_scale(p))
        for p in paths
    ]


def run_name(config: TrainConfig, new_styles: list[StyleRecord], base: LoadedModel | None) -> str:
    """The model's name: --name, else the style's name, 'multistyle' for several, BASE_STYLE with --base."""
    if config.name:
        return config.name
    if base is not None and config.finetune == "styles":
        return f"{base.name}_{new_styles[0]['name']}" if len(new_styles) == 1 else f"{base.name}_plus"
    return new_styles[0]["name"] if len(new_styles) == 1 else MULTI_STYLE_NAME


def load_base(spec: str) -> LoadedModel:
    """--base NAME_OR_PATH -> the model to start from (a bundled name means its checkpoint)."""
    path = resolve_model(spec, prefer_checkpoint=True)
    if path.suffix.lower() == ".onnx":
        raise UserError(f"--base {spec}: needs the model's checkpoint (.pth or .ckpt), not an ONNX file")
    return load_model(path)


@dataclass
class StylePlan:
    """What the net holds and what this run trains.

    styles: every style of the resulting net, in row order; trained: the rows this run
    learns (the loss targets come from their images); frozen_rows: rows a --base run must
    leave exactly as they were; adapted: how many of the last styles carry conv adapters.
    """

    styles: list[StyleRecord]
    trained: list[int]
    frozen_rows: int = 0
    init_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    adapted: int = 0

    @property
    def trained_names(self) -> list[str]:
        """The names of the styles this run trains, in the order of its trained-style ids."""
        return [self.styles[i]["name"] for i in self.trained]


def norm_row_keys(net: torch.nn.Module) -> set[str]:
    """State-dict keys of the per-style rows: every CondInstanceNorm's weight and bias, [S, C]."""
    return {
        f"{name}.{p}" for name, m in net.named_modules() if isinstance(m, CondInstanceNorm) for p in ("weight", "bias")
    }


def per_style_keys(net: TransformNet) -> dict[str, int]:
    """Parameters that hold one row per style -> the style their row 0 belongs to: 0 for the norm
    rows, S - A for the adapters (only the last A styles have one)."""
    first_adapted = net.num_styles - net.adapted_styles
    convs = [(name, m) for name, m in net.named_modules() if isinstance(m, AdaptedConv2d)]
    adapters = [f"{name}.{p}" for name, m in convs for p in ADAPTER_PARAMS if getattr(m, p) is not None]
    return {**dict.fromkeys(norm_row_keys(net), 0), **dict.fromkeys(adapters, first_adapted)}


def painting_file(style: StyleRecord) -> str:
    """The painting a trained style's targets come from; a record without one (a bundled model's
    keeps only its file name) cannot be trained towards."""
    if not style["image"]:
        raise UserError(f"style {style['name']!r}: no painting recorded to train it towards; pass it with --style")
    return style["image"]


def plan_styles(
    new_styles: list[StyleRecord],
    base: LoadedModel | None,
    finetune: str,
    adapter_rank: int = 0,
    seed: int = 0,
    start: str = "nearest",
) -> StylePlan:
    """The net's style rows and starting weights for a new run (resumed runs read theirs from the checkpoint).
    `start` (--new-style-start): "predicted" starts each new style's rows where the base's style
    predictor puts its painting; "nearest" (chosen later, in setup, by the loss) and "mean" from
    the mean of the base's rows."""
    if base is None:
        return StylePlan(new_styles, list(range(len(new_styles))))
    taken = {s["name"] for s in base.styles} & {s["name"] for s in new_styles}
    if taken and finetune == "styles":
        raise UserError(f"--base already holds a style named {sorted(taken)[0]!r}; rename the new style image")
    rows, extra = norm_row_keys(base.net), len(new_styles)
    # a base that paints any painting holds more norm rows than styles: the rest mix into predictions
    state = {k: v[: len(base.styles)] if k in rows else v for k, v in base.net.state_dict().items()}
    if start == "predicted" and finetune != "styles":
        raise UserError("--new-style-start predicted starts new styles over a base: use it with --finetune styles")
    predicted = predicted_weights(base, new_styles) if start == "predicted" else None
    if finetune == "styles":
        kept, had = len(base.styles), base.net.adapted_styles
        adapted = had + extra if adapter_rank else 0
        with torch.random.fork_rng(devices=[]):  # the new adapters' random start depends on --seed alone
            torch.manual_seed(seed)
            grown_net = TransformNet(
                base.net.arch, num_styles=kept + extra, adapter_rank=adapter_rank, adapted_styles=adapted
            )
        grown = {}
        for k, v in grown_net.state_dict().items():
            if k in rows:  # the base's rows stay; each new style's rows start predicted or from the mean of the base's
                first = (
                    predicted @ base.net.state_dict()[k].float()  # [new, R] @ [R, C]
                    if predicted is not None
                    else state[k].mean(0, keepdim=True).repeat(extra, 1)
                )
                grown[k] = torch.cat([state[k], first.to(state[k].dtype)])
            elif k.endswith(ADAPTER_PARAMS):  # the base's adapters stay; new ones as a fresh net starts them
                grown[k] = torch.cat([state[k], v[had:]]) if had else v
            else:
                grown[k] = state[k]
        return StylePlan(base.styles + new_styles, list(range(kept, kept + extra)), kept, grown, adapted)
    # Every weight trains, starting from the base; the result holds only the given styles. A
    # style named like one of the base's starts from its rows (so a base can go on training its
    # own styles, say on larger crops), any other from the mean of the base's rows. Adapters
    # are the base's styles' own and are left behind: the shared kernels are the start.
    known = {s["name"]: i for i, s in enumerate(base.styles)}

    def begin(v: torch.Tensor) -> torch.Tensor:  # [S_base, C] -> [S_new, C]
        return torch.stack([v[known[s["name"]]] if s["name"] in known else v.mean(0) for s in new_styles])

    fresh = {k: begin(v) if k in rows else v for k, v in state.items() if not k.endswith(ADAPTER_PARAMS)}
    return StylePlan(new_styles, list(range(extra)), 0, fresh)


@torch.no_grad()
def predicted_weights(base: LoadedModel, new_styles: list[StyleRecord]) -> torch.Tensor:
    """Each new style's painting -> the base's predicted style weights over all its norm rows, [new, R]."""
    if base.predictor is None:
        raise UserError(
            "--new-style-start predicted needs a --base with a style predictor (such as anystyle; "
            "train one with --finetune predictor)"
        )
    pixels = [array_to_net(predictor_pixels(load_rgb(painting_file(s)))) for s in new_styles]
    return torch.cat([base.predictor(p) for p in pixels])
