"""Which style a multi-style model paints: a style name or a blend of its styles, parsed and
checked into weights over the model's style names (numpy only, so every engine and the export
share one reading of `--style` and of a call's `weights`).

A model that paints any painting has more norm rows than named styles (its `rows`): a painting's
predicted style is an embedding over all of them (any real numbers, faststyle.model.style_predictor),
and weights over its named styles fill the first rows."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from faststyle.errors import UserError

StyleSpec = str | Mapping[str, float] | None  # a name, "a=0.7,b=0.3", or {name: weight}


def style_weights(spec: StyleSpec, names: list[str]) -> tuple[np.ndarray, str]:
    """A style choice -> (float32 weights [S] over the model's styles, summing to 1; a label).

    None picks the first style; "wave" one style; "starry_night=0.7,wave=0.3" or a
    {name: weight} mapping blends them (weights are scaled to sum to 1).
    """
    weights = np.zeros(len(names), np.float32)
    if spec is None:
        weights[0] = 1.0
        return weights, names[0]
    if isinstance(spec, str):
        pairs = [part.partition("=") for part in spec.split(",") if part.strip()]
        try:
            mix = {n.strip(): float(w) if sep else 1.0 for n, sep, w in pairs}
        except ValueError:
            raise UserError(f"--style {spec!r}: expected NAME or NAME=WEIGHT,NAME=WEIGHT") from None
    else:
        mix = {str(k): float(v) for k, v in spec.items()}
    unknown = [n for n in mix if n not in names]
    if unknown:
        raise UserError(f"style {unknown[0]!r} is not in this model (its styles: {', '.join(names)})")
    total = sum(mix.values())
    if not mix or any(not (w >= 0) for w in mix.values()) or not 0 < total < math.inf:
        # inf (or weights whose sum overflows) would blend to NaN: a black picture, not an error
        raise UserError(f"style weights must be finite, 0 or more and not all 0, got {spec!r}")
    for name, w in mix.items():
        weights[names.index(name)] += w / total
    if len(mix) == 1:
        return weights, next(iter(mix))
    return weights, "_".join(f"{n}{w / total:.2g}" for n, w in mix.items())


def to_rows(weights: NDArray[np.float32], rows: int) -> NDArray[np.float32]:
    """Weights [S] over a model's named styles -> its style input [rows] (zeros after the named rows)."""
    return np.pad(weights, (0, rows - len(weights))).astype(np.float32)


def check_weights(weights: object, names: list[str], rows: int | None = None) -> NDArray[np.float32] | None:
    """A call's `weights` over the model's styles (None: the stylizer's own style), checked as
    `style_weights` checks a blend and scaled to sum to 1 the same way, so that `weights=[2, 1]`
    paints what `style="a=2,b=1"` paints; returned as the style input of a model of `rows` rows.
    On a model with more rows than styles, `weights` may also be a painting's embedding [rows]
    (faststyle.inference.painted), which only has to be finite. A one-line UserError otherwise:
    an engine given NaN or inf paints black without a word, and one given the wrong length fails
    with its own trace."""
    if weights is None:
        return None
    rows = rows or len(names)
    try:
        vector = np.asarray(weights, np.float64)
    except (TypeError, ValueError):  # a string or an object that is no list of numbers
        vector = np.asarray(None)
    if rows > len(names) and vector.shape == (rows,):
        if not np.isfinite(vector).all():
            raise UserError("a style embedding must be finite; this one holds NaN or infinite values")
        return vector.astype(np.float32)
    if vector.dtype != np.float64 or vector.shape != (len(names),):
        got = f"shape {vector.shape}" if vector.dtype == np.float64 else type(weights).__name__
        shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
        raise UserError(f"weights: expected {len(names)} number(s), one per style in .styles ({shown}), got {got}")
    bad = [i for i, w in enumerate(vector) if not 0 <= w < math.inf]  # NaN fails every comparison
    total = float(vector.sum())
    if bad or not 0 < total < math.inf:
        why = f"{names[bad[0]]}'s is {vector[bad[0]]}" if bad else "all are 0" if total == 0 else "their sum overflows"
        raise UserError(f"style weights must be finite, 0 or more and not all 0; {why}")
    return to_rows((vector / total).astype(np.float32), rows)
