"""The objective of training, as the settings that declare it: training optimises it,
`faststyle optimize` takes the same flags (derived from these declarations), and `faststyle
evaluate` scores with a model's values."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from faststyle.errors import UserError
from faststyle.loss.defaults import CONTENT_LAYER, STYLE_LAYERS
from faststyle.training.model_settings import ModelSettings
from faststyle.training.settings import default_of

# The settings that define the objective
OBJECTIVE = ("content_weight", "style_weight", "tv_weight", "style_size", "style_loss", "style_layer_weights")


def objective_defaults() -> dict[str, Any]:
    """The built-in value of each objective setting, with the loss network's layers it applies to."""
    by_name = {f.name: f for f in fields(ModelSettings)}
    return {
        **{name: default_of(by_name[name]) for name in OBJECTIVE},
        "content_layer": CONTENT_LAYER,
        "style_layers": list(STYLE_LAYERS),
    }


def check_objective(
    content_weight: float, style_weight: float, style_layer_weights: list[float], doing: str = "learn"
) -> None:
    """What no objective may be, as one-line errors before any work."""
    if content_weight + style_weight == 0:
        raise UserError(f"--content-weight and --style-weight are both 0: there is nothing to {doing}")
    check_layer_weights(f"--style-layer-weights {' '.join(f'{w:g}' for w in style_layer_weights)}", style_layer_weights)


def check_layer_weights(given: str, weights: list[float]) -> None:
    """One set of style layer weights (`given`: the flag and value that set them, for the error):
    one per style layer, not all 0."""
    if len(weights) != len(STYLE_LAYERS) or not any(weights):
        raise UserError(f"{given}: give {len(STYLE_LAYERS)} weights ({' '.join(STYLE_LAYERS)}), not all 0")
