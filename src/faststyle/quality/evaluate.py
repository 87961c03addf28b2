"""How good and how fast is a model: its own training objective, style similarity and speed,
beside the Gatys baseline optimised under the very same objective.

For each content photo, resized so its longer side is `size`:
    content, style, tv, loss  the PerceptualLoss terms, weighted as the model was trained
                              (its checkpoint's hparams; defaults for what they lack, and for ONNX)
    style_similarity          cosine between output and style-image Gram matrices, mean over
                              relu1_2, relu2_2, relu3_3, relu4_3 (1 = the style's statistics exactly),
                              the style image at the model's own style size
    similarity_by_side        the same against the style image at several longer sides, and
    stroke_scale              the side where that peaks (faststyle.quality.stroke_scale)
    structure                 LPIPS-like distance of the output's VGG features from the photo's
                              (faststyle.loss.structure; lower keeps more of the photo's detail)
    ms                        model: median forward time per image after a warm-up;
                              Gatys: time its optimisation took to reach that step count
The untouched photo is scored too, as the floor any stylization should beat. Every output is
scored as it would be saved: quantised to 8 bits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from faststyle.errors import ImageError, UserError
from faststyle.hardware import pick_device
from faststyle.image_io import IMAGE_SUFFIXES, atomic_path, ensure_writable, load_rgb, save_rgb
from faststyle.inference.load import load_stylizer
from faststyle.inference.stroke_scale import at_stroke_scale
from faststyle.inference.stylizer import Stylizer
from faststyle.loss.perceptual import style_loss_for, style_tensor
from faststyle.loss.statistics import gram_matrix, style_similarity
from faststyle.loss.structure import StructureDistance
from faststyle.loss.vgg import VGGFeatures, load_vgg16_features
from faststyle.pixels import array_to_net, net_to_array, net_to_pixels, pixels_to_net
from faststyle.quality.contact_sheet import contact_sheet
from faststyle.quality.gatys import gatys, resize_longer_side
from faststyle.quality.request import EvaluateRequest
from faststyle.quality.stroke_scale import ScaleSweep, mean_curve, peak_side
from faststyle.quality.temporal import temporal_entry
from faststyle.quality.temporal_video import video_clip, video_scores_for
from faststyle.scan import expand_inputs
from faststyle.timing import median_ms
from faststyle.training.model_settings import layer_weights_for
from faststyle.training.objective import objective_defaults

SIMILARITY_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
DEFAULT_OBJECTIVE = objective_defaults()  # for a model file that does not say what it was trained with
METRICS = ("content", "style", "tv", "loss", "style_similarity", "structure", "stroke_scale", "ms")


def run_model(
    stylizer: Stylizer, photo: torch.Tensor, name: str = "the model", stroke_scale: float = 1.0
) -> torch.Tensor:
    """[1, 3, H, W] in [0, 1] -> the stylizer's uint8 output as [1, 3, H, W] in [0, 1]: scored as saved."""
    pixels = net_to_pixels(photo.detach().cpu()).numpy()  # [1, H, W, 3]
    if stroke_scale != 1:
        pixels = at_stroke_scale(stylizer, pixels[0], stroke_scale)[None]
    else:
        pixels = stylizer(pixels)
    if pixels.shape[1:3] != photo.shape[2:]:
        raise UserError(
            f"{name} returns {pixels.shape[2]}x{pixels.shape[1]} pixels for a {photo.shape[3]}x{photo.shape[2]} "
            "photo; evaluate scores an output against its photo and needs both the same size"
        )
    return pixels_to_net(torch.from_numpy(pixels)).to(photo.device)


def objective_from(hparams: dict[str, Any], style: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The training objective's settings: the checkpoint's where it has them, else defaults;
    for `style`, its own style layer weights where it was trained with some."""
    taken = [k for k in DEFAULT_OBJECTIVE if hparams.get(k) is not None]
    objective = {**DEFAULT_OBJECTIVE, **{k: hparams[k] for k in taken}}
    own = layer_weights_for(hparams.get("style_layer_weights_for"))
    if style in own:
        objective["style_layer_weights"] = own[style]
    return objective, taken


def content_images(path: str | os.PathLike[str]) -> list[Path]:
    """One image file, or the images directly inside a folder (sorted by name)."""
    if not Path(path).exists():
        raise UserError(f"--content {path}: no such file or folder")
    found, errors = expand_inputs([str(path)], suffixes=IMAGE_SUFFIXES)
    if errors:
        raise UserError(f"--content {errors[0]}")
    return found


def parse_steps(text: str) -> list[int]:
    """'50,100' -> [50, 100]; '0' -> [] (no Gatys baseline). 0 in a list is the photo: dropped."""
    try:
        steps = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise UserError(f"--gatys-steps '{text}': expected step counts like 50,100 (or 0 to skip)") from None
    if any(s < 0 for s in steps):
        raise UserError(f"--gatys-steps '{text}': step counts must not be negative")
    return [s for s in steps if s > 0]


class Scorer:
    """Scores images [1, 3, H, W] against their photo and one style image."""

    def __init__(self, features: torch.nn.Sequential, style: NDArray[np.uint8], objective: dict[str, Any]):
        settings = {**objective, "style_layers": tuple(objective["style_layers"])}
        self.loss_fn = style_loss_for(features, style, **settings)
        self.taps = VGGFeatures(features, SIMILARITY_LAYERS)
        device = next(features.parameters()).device
        with torch.no_grad():
            feats = self.taps(style_tensor(style, objective["style_size"]).to(device))
        self.style_grams = {name: gram_matrix(f) for name, f in feats.items()}  # [1, C, C] each
        self.structure = StructureDistance(features)
        self.sweep = ScaleSweep(self.taps, style)

    @torch.no_grad()
    def __call__(self, image: torch.Tensor, photo: torch.Tensor) -> dict[str, float]:
        image = (image.to(photo.device).clamp(0, 1) * 255).round() / 255  # as saved: 8 bits
        scores = {k: float(v) for k, v in self.loss_fn(image, photo).items()}
        grams = {name: gram_matrix(f) for name, f in self.taps(image).items()}  # one VGG pass for both
        sims = [float(style_similarity(grams[n], self.style_grams[n])[0]) for n in SIMILARITY_LAYERS]
        scores["style_similarity"] = sum(sims) / len(sims)
        scores["structure"] = float(self.structure(image, photo)[0])
        curve = self.sweep.of_grams(grams)
        scores["similarity_by_side"] = curve  # type: ignore[assignment]
        scores["stroke_scale"] = peak_side(curve)
        return scores


def run_gatys(scorer: Scorer, photo: torch.Tensor, steps: Sequence[int]) -> dict[int, tuple[torch.Tensor, float]]:
    """One L-BFGS run -> {step count: (image, ms taken to reach it)}."""
    reached: dict[int, float] = {}
    start = time.perf_counter()
    images = gatys(
        scorer.loss_fn,
        photo,
        steps,
        method="lbfgs",
        progress=lambda step, _: reached.__setitem__(step, 1000.0 * (time.perf_counter() - start)),
    )
    return {s: (images[s], reached[s]) for s in steps}


def evaluate(request: EvaluateRequest, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score the request's model on every photo in its `content`; write report.json and
    contact_sheet.png to its `out_dir`; `progress` hears what is being done."""
    r, say = request, progress or (lambda msg: None)
    r.check()
    steps = sorted({s for s in r.gatys_steps if s > 0})
    dev = pick_device(r.device)
    ensure_writable(r.out_dir, "pass a writable -o folder")  # before minutes of scoring, not after
    photos = content_images(r.content)
    clip = video_clip(r.video, r.size, r.video_frames) if r.video else None  # a bad file fails now, not later
    style_image = load_rgb(r.style)
    stylizer = load_stylizer(r.model, backend=None, device=r.device)
    if len(stylizer.styles) > 1 or r.model_style:
        pick = r.model_style or Path(r.style).stem
        if pick not in stylizer.styles:
            raise UserError(
                f"{r.model} holds the styles {', '.join(stylizer.styles)}; none is named {pick!r} "
                "(name the style image like one of them, or pass --model-style NAME)"
            )
        stylizer = load_stylizer(r.model, backend=None, device=r.device, style=pick)
    objective, taken = objective_from(stylizer.hparams, stylizer.style)
    if r.style_size is not None:
        objective, taken = {**objective, "style_size": r.style_size}, [k for k in taken if k != "style_size"]
    scorer = Scorer(load_vgg16_features(r.vgg_weights).to(dev), style_image, objective)

    images, rows, skipped = [], [], []
    for i, path in enumerate(photos, 1):
        try:
            pixels = load_rgb(path)
            photo = array_to_net(resize_longer_side(pixels, r.size)).to(dev)  # [1, 3, H, W]
        except ImageError as e:  # one bad photo is skipped, with its line; the others are scored
            print(f"error: {e}", file=sys.stderr)
            skipped.append(str(path))
            continue
        tell = lambda msg: say(f"[{i}/{len(photos)}] {msg}")
        entry, row = score_photo(r, stylizer, scorer, path, pixels, photo, steps, tell)
        images.append(entry)
        rows.append(row)

    if not images:
        raise UserError(f"--content {r.content}: none of its {len(photos)} photos could be read")
    video_entry = None
    if clip:
        say(f"{r.video}: warping error along the flow over {len(clip)} frames")
        video_entry = {"path": str(r.video), **video_scores_for(stylizer, clip, r.temporal_blend)}
    report = {
        "model": str(r.model),
        "backend": stylizer.backend,
        "style": str(r.style),
        "style_name": stylizer.style,
        "size": r.size,
        "stroke_scale_setting": r.stroke_scale,
        "device": str(dev),
        "gatys_steps": steps,
        "timing_runs": r.timing_runs,
        "objective": objective,
        "objective_from_checkpoint": taken,
        "images": images,
        "skipped": skipped,
        "mean": mean_scores(images),
    }
    if video_entry:
        report["video"] = video_entry
    out = Path(r.out_dir)
    labels = ["photo", f"model ({stylizer.backend})", *(f"Gatys {s}" for s in steps)]
    report["contact_sheet"] = str(save_rgb(contact_sheet(rows, labels), out / "contact_sheet.png"))
    report["report"] = str(out / "report.json")
    with atomic_path(out / "report.json") as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2) + "\n")
    return report


def score_photo(
    request: EvaluateRequest,
    stylizer: Stylizer,
    scorer: Scorer,
    path: Path,
    pixels: NDArray[np.uint8],
    photo: torch.Tensor,
    steps: list[int],
    say: Callable[[str], None],
) -> tuple[dict[str, Any], list[NDArray[np.uint8]]]:
    """One photo (`pixels` as read, `photo` [1, 3, H, W] at the request's size): its report entry
    (the photo's own scores, the model's with its time, Gatys' at each of `steps`) and its
    contact-sheet row (photo, output, Gatys' images)."""
    r = request
    sync = torch.cuda.synchronize if photo.device.type == "cuda" else None
    say(f"{path.name}: model")
    output = run_model(stylizer, photo, str(r.model), r.stroke_scale)
    timed = median_ms(lambda: run_model(stylizer, photo, stroke_scale=r.stroke_scale), r.timing_runs, sync)
    entry: dict[str, Any] = {
        "name": path.name,
        "path": str(path),
        "height": photo.shape[2],
        "width": photo.shape[3],
        "photo": scorer(photo, photo),
        "model": {**scorer(output, photo), "ms": timed},
    }
    if r.temporal:
        say(f"{path.name}: pan, zoom and noise over {r.frames} frames")
        entry["temporal"] = temporal_entry(stylizer, pixels, r.size, r.frames)
    row = [net_to_array(photo), net_to_array(output)]
    if steps:
        say(f"{path.name}: Gatys, {steps[-1]} L-BFGS steps")
        entry["gatys"] = {}
        for s, (image, ms) in run_gatys(scorer, photo, steps).items():
            entry["gatys"][str(s)] = {**scorer(image, photo), "ms": ms}
            row.append(net_to_array(image))
    return entry, row


def mean_scores(images: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric means over images, for the photo, the model and each Gatys step count."""

    def mean(entries: list[dict[str, Any]]) -> dict[str, Any]:
        means: dict[str, Any] = {k: sum(e[k] for e in entries) / len(entries) for k in METRICS if k in entries[0]}
        if "similarity_by_side" in entries[0]:  # the peak of the mean curve, steadier than a mean of peaks
            curve = mean_curve([e["similarity_by_side"] for e in entries])
            means.update(similarity_by_side=curve, stroke_scale=peak_side(curve))
        return means

    means: dict[str, Any] = {"photo": mean([e["photo"] for e in images]), "model": mean([e["model"] for e in images])}
    if "gatys" in images[0]:
        means["gatys"] = {s: mean([e["gatys"][s] for e in images]) for s in images[0]["gatys"]}
    if "temporal" in images[0]:
        means["temporal"] = {
            who: {k: float(np.mean([e["temporal"][who][k] for e in images])) for k in images[0]["temporal"][who]}
            for who in ("photo", "model")
        }
    return means
