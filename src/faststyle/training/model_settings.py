"""The network and its objective: the settings that say what a run learns (its width, the
perceptual loss's weights and statistic, each style's own weights), declared once as the first
part of `TrainConfig` (faststyle.training.config), which adds data, schedule, hardware and files.
`faststyle optimize` and `faststyle evaluate` read the objective from here too
(faststyle.training.objective)."""

from __future__ import annotations

from dataclasses import dataclass

from faststyle.errors import UserError
from faststyle.loss.defaults import (
    DEFAULT_CONTENT_WEIGHT,
    DEFAULT_STYLE_LAYER_WEIGHTS,
    DEFAULT_STYLE_LOSS,
    DEFAULT_STYLE_SIZE,
    DEFAULT_STYLE_WEIGHT,
    DEFAULT_TV_WEIGHT,
    MIN_VGG_SIDE,
    STYLE_LOSSES,
)
from faststyle.model.archs import ARCHS
from faststyle.training.settings import RUN, setting
from faststyle.values import at_least, name_and_weight, name_and_weights, non_negative_float


@dataclass
class ModelSettings:
    arch: str = setting(
        "johnson",
        "transform-net width: 32-64-128, 16-32-64 or 8-16-32 channels",
        resume=RUN,
        choices=tuple(ARCHS),
        group="model and loss",
    )
    content_weight: float = setting(
        DEFAULT_CONTENT_WEIGHT,
        "weight of the relative content error at relu2_2",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )
    style_weight: float = setting(
        DEFAULT_STYLE_WEIGHT,
        "how much a relative style (Gram) error counts against the same relative content error; independent of "
        "the style image and of VGG scale; useful range 2-50, more = stronger style",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )
    style_weight_for: list[str] | None = setting(
        None,
        "a --style-weight of its own for some of the styles (NAME is the style image's file name without its "
        "suffix): a painting that takes over the photo gets less, one that stays faint more, e.g. candy=5 "
        "mosaic=15 [default: --style-weight for every style]",
        resume=RUN,
        check=name_and_weight,
        metavar="NAME=W",
        group="model and loss",
        many=True,
    )
    style_layer_weights: list[float] = setting(
        list(DEFAULT_STYLE_LAYER_WEIGHTS),
        "how much each style layer counts, relu1_2 relu2_2 relu3_3 relu4_3 (scaled to mean 1): relu4_3 carries "
        "the painting's object-sized motifs, which a net stamps all over the photo when it counts as much as the "
        "rest; 0 for relu4_3 paints colour and brushwork only",
        resume=RUN,
        check=non_negative_float,
        metavar="W",
        group="model and loss",
        many=True,
    )
    style_layer_weights_for: list[str] | None = setting(
        None,
        "style layer weights of its own for some of the styles (NAME=W,W,W,W, relu1_2..relu4_3): a painting "
        "made by its motifs (mosaic's tiles) can count relu4_3 while the others leave it out, e.g. "
        "mosaic=0.5,2,0.5,0.25 [default: --style-layer-weights for every style]",
        resume=RUN,
        check=name_and_weights,
        metavar="NAME=W,W,W,W",
        group="model and loss",
        many=True,
    )
    tv_weight: float = setting(
        DEFAULT_TV_WEIGHT,
        "weight of total variation (smoothness) of the output; 0 disables it",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )
    style_size: int = setting(
        DEFAULT_STYLE_SIZE,
        "longer side the style image is shrunk to (never enlarged) before its statistics are taken: larger = larger "
        "strokes and motifs; one above the painting's takes it at its own size, as pytorch/examples does",
        resume=RUN,
        check=at_least(MIN_VGG_SIDE),
        group="model and loss",
    )
    style_loss: str = setting(
        DEFAULT_STYLE_LOSS,
        "style statistic: Gram matrices, or per-channel mean+std (AdaIN)",
        resume=RUN,
        choices=STYLE_LOSSES,
        group="model and loss",
    )
    stability_weight: float = setting(
        0.0,
        "weight of the stability term: how much the output of a slightly moved, noisy photo may differ from the "
        "output moved the same way (a 10-level RMS difference scores 1); more = steadier video, 0 disables it; "
        "1 makes video 2-4x steadier at 18%% more loss (flatter strokes; README Video)",
        resume=RUN,
        check=non_negative_float,
        group="model and loss",
    )

    def style_weight_of(self, names: list[str]) -> list[float]:
        """Each named style's weight: its own from --style-weight-for, else --style-weight."""
        own = per_style("--style-weight-for", self.style_weight_for, names)
        return [float(own[n]) if n in own else self.style_weight for n in names]

    def style_layer_weights_of(self, names: list[str]) -> list[list[float]]:
        """Each named style's layer weights: its own from --style-layer-weights-for, else
        --style-layer-weights."""
        per_style("--style-layer-weights-for", self.style_layer_weights_for, names)  # refuses unknown names
        own = layer_weights_for(self.style_layer_weights_for)
        return [own.get(n, self.style_layer_weights) for n in names]


def named_values(pairs: list[str] | None) -> dict[str, str]:
    """NAME=VALUE settings (as their checks wrote them) as {name: value}."""
    return dict(pair.rsplit("=", 1) for pair in pairs or [])


def layer_weights_for(pairs: list[str] | None) -> dict[str, list[float]]:
    """--style-layer-weights-for's NAME=W,W,W,W pairs as {name: weights}."""
    return {name: [float(w) for w in value.split(",")] for name, value in named_values(pairs).items()}


def per_style(flag: str, pairs: list[str] | None, names: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs as {name: value}. A name that is none of `names` is refused: a typo must
    not leave a style at the default."""
    own = named_values(pairs)
    unknown = sorted(set(own) - set(names))
    if unknown:
        listed = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
        raise UserError(f"{flag} {unknown[0]}: no style of that name in this run ({listed})")
    return own
