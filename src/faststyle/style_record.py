"""What a model records about each of its styles, readable without torch (checkpoints, ONNX
metadata, the runtime and the commands all read it from here).

A style record is {"name", "image", "style_size", "stroke_scale"}: the name the user picks it by,
the painting its targets were computed from, the longer side the painting was asked to be shrunk
to (`--style-size`), and its stroke scale: the longer side, in pixels, the painting really had
when its statistics were taken (never enlarged, so a painting smaller than --style-size keeps its
own). The stroke scale says what the model paints: strokes as large, in output pixels, as the
painting's when it is shown STROKE_SCALE px long. Records from before the stroke scale was stored
hold only the style size, which their paintings all exceeded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict


class StyleRecord(TypedDict):
    """One style of a model, as checkpoints and ONNX metadata store it (JSON-ready)."""

    name: str  # what the user picks it by (stylize --style NAME)
    image: str | None  # the painting: its path where it was trained, its file name in a bundled model
    style_size: int | None  # --style-size: the longer side the painting was asked to be shrunk to
    stroke_scale: int | None  # the longer side it really had when its statistics were taken (px)


def safe_name(name: str) -> str:
    """A model or style name read from a file, made safe as one file-name component: never a
    path, '.', '..' or empty ("la muse/v2" -> "la_muse_v2", ".." -> "styled")."""
    return re.sub(r"[^\w.-]+", "_", str(name)).strip("._") or "styled"


def painted_side(painting_side: int, style_size: int | None) -> int:
    """The longer side a painting of `painting_side` px has after --style-size (never enlarged)."""
    return painting_side if style_size is None else min(painting_side, style_size)


def stroke_scale_of(record: Mapping[str, Any]) -> int | None:
    """A style record's stroke scale in px, or None when it records neither it nor a style size."""
    value = record.get("stroke_scale") or record.get("style_size")
    return int(value) if value else None


def with_stroke_scale(records: Sequence[Mapping[str, Any]]) -> list[StyleRecord]:
    """`records` as StyleRecords (copies), each with its stroke scale filled in where an older
    record lacks it."""
    return [
        StyleRecord(
            name=str(r["name"]),
            image=r.get("image"),
            style_size=r.get("style_size"),
            stroke_scale=stroke_scale_of(r),
        )
        for r in records
    ]


def describe_stroke_scales(records: Sequence[Mapping[str, Any]]) -> str:
    """'strokes at 512 px' for a model whose styles share one, else each style's."""
    scales = [stroke_scale_of(r) for r in records]
    if len(set(scales)) == 1:
        return f"strokes at {scales[0]} px" if scales[0] else "stroke scale not recorded"
    return "strokes at " + ", ".join(f"{r['name']} {s or '?'} px" for r, s in zip(records, scales, strict=True))
