"""evaluate's report (faststyle.quality.evaluate) as the plain-text tables the command prints."""

from __future__ import annotations

from typing import Any


def format_table(report: dict[str, Any]) -> str:
    """The report as a plain-text table: one line per image and method, then the means."""
    head = (
        f"{'image':<24} {'method':<16} {'content':>9} {'style':>9} {'tv':>8} {'loss':>9} {'similarity':>10} "
        f"{'structure':>9} {'ms':>9}"
    )
    obj = report["objective"]
    layer_weights = obj.get("style_layer_weights")  # reports written before it was a setting lack it
    layers = f", layers {' '.join(f'{w:g}' for w in layer_weights)}" if layer_weights else ""
    lines = [
        f"objective: content {obj['content_weight']}, style {obj['style_weight']} ({obj['style_loss']}, "
        f"style size {obj['style_size']}{layers}), tv {obj['tv_weight']}; from the model: "
        f"{', '.join(report['objective_from_checkpoint']) or 'nothing (defaults)'}",
        head,
        "-" * len(head),
    ]

    def add(name: str, method: str, s: dict[str, float]) -> None:
        ms = f"{s['ms']:9.1f}" if "ms" in s else f"{'':>9}"
        lines.append(
            f"{name[:24]:<24} {method:<16} {s['content']:9.4f} {s['style']:9.4f} {s['tv']:8.4f} "
            f"{s['loss']:9.4f} {s['style_similarity']:10.4f} {s['structure']:9.4f} {ms}"
        )

    for entry in [*report["images"], {"name": "MEAN", **report["mean"]}]:
        add(entry["name"], "photo", entry["photo"])
        add(entry["name"], f"model ({report['backend']})", entry["model"])
        for s, scores in entry.get("gatys", {}).items():
            add(entry["name"], f"Gatys {s}", scores)
    lines += ["", format_strokes(report)]
    if "temporal" in report["mean"]:
        lines += ["", format_temporal(report)]
    if "video" in report:
        lines += ["", format_video(report["video"])]
    return "\n".join(lines)


def format_strokes(report: dict[str, Any]) -> str:
    """Mean similarity to the style image at each longer side, and the side where it peaks."""
    mean = report["mean"]
    rows = [("photo", mean["photo"]), (f"model ({report['backend']})", mean["model"])]
    rows += [(f"Gatys {s}", scores) for s, scores in mean.get("gatys", {}).items()]
    sides = list(mean["model"]["similarity_by_side"])
    head = f"{'mean of':<16} " + " ".join(f"{'L=' + str(s):>7}" for s in sides) + f" {'stroke scale':>13}"
    lines = [
        f"style similarity against the style image with its longer side at L px, at {report['size']} px; "
        "the stroke scale is the L where it peaks (the painting's strokes as large as the output's)",
        head,
        "-" * len(head),
    ]
    for name, scores in rows:
        curve = scores["similarity_by_side"]
        cells = " ".join(f"{curve[s]:7.4f}" for s in sides)
        lines.append(f"{name[:16]:<16} {cells} {scores['stroke_scale']:10.0f} px")
    return "\n".join(lines)


def format_temporal(report: dict[str, Any]) -> str:
    """Warping errors (pan 1 px, zoom 1% per frame) and noise instability, levels and / contrast."""
    head = f"{'image':<24} {'frames of':<10} {'pan':>13} {'zoom':>13} {'noise':>13} {'contrast':>9}"
    lines = [
        "steadiness: uint8 levels (and as a share of the output's contrast, its pixel std); lower is steadier",
        head,
        "-" * len(head),
    ]
    for entry in [*report["images"], {"name": "MEAN", "temporal": report["mean"]["temporal"]}]:
        for who in ("photo", "model"):
            t = entry["temporal"][who]
            cells = " ".join(f"{t[m]:6.2f} ({t[m + '_rel']:4.2f})" for m in ("pan", "zoom", "noise"))
            lines.append(f"{entry['name'][:24]:<24} {who:<10} {cells} {t['contrast']:9.1f}")
    return "\n".join(lines)


def format_video(video: dict[str, Any]) -> str:
    """Warping error along the optical flow of a real video, per frame and with the temporal blend."""
    head = f"{'frames of':<26} {'warping':>15} {'contrast':>9} {'tracked':>8}"
    lines = [
        f"video {video['path']}: {video['frames']} frames at {video['width']}x{video['height']}, "
        "warping error along DIS flow in uint8 levels (and / contrast); lower is steadier",
        head,
        "-" * len(head),
    ]
    for who in ("photo", "model", "model --temporal"):
        v = video[who]
        name = f"{who} {video['blend']}" if who.endswith("temporal") else who
        warping = f"{v['warping']:7.2f} ({v['warping_rel']:4.2f})"
        lines.append(f"{name:<26} {warping} {v['contrast']:9.1f} {v['tracked']:8.0%}")
    return "\n".join(lines)
