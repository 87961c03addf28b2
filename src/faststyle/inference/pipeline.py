"""The stylize pipeline behind the `stylize` command, as importable functions.

    stylizer = load_stylizer("starry_night")              # bundled name, .onnx, .ckpt or .pth
    stylize_path(stylizer, "photo.jpg", "photo_starry_night.jpg", Options(max_size=1024))

Per image: load (any mode, EXIF upright) -> resize (--max-size/--scale) -> stylize, whole
or in tiles -> optionally keep the photo's colours -> blend with the photo (--strength)
-> save atomically. Videos run the same per-frame steps through faststyle.inference.video.

The ONNX Runtime backend needs no torch; torch is imported only for .ckpt/.pth models.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from faststyle.inference.registry import resolve_model
from faststyle.inference.color import blend, preserve_color
from faststyle.errors import ModelError, UserError
from faststyle.image_io import fit_rgb, load_rgb, save_rgb
from faststyle.inference.tiling import count_tiles, stylize_tiled

# Untiled, the Johnson net in ONNX Runtime peaks near 1.3 kB per pixel (5.4 GB at 2048^2),
# so images above AUTO_TILE_PIXELS are tiled with AUTO_TILE unless the user says otherwise.
AUTO_TILE_PIXELS = 6_000_000
AUTO_TILE = 2048


@dataclass
class Options:
    """What to do to each image or frame; the defaults stylize at full size, full strength."""

    max_size: int | None = None  # cap on the longer side, in pixels
    scale: float | None = None  # resize factor applied first
    tile: int | None = None  # tile side; None: auto (AUTO_TILE above AUTO_TILE_PIXELS), 0: never tile
    preserve_color: bool = False
    strength: float = 1.0  # 1: stylized, 0: the photo
    progress: bool | None = None  # tqdm bars: True, False, or None for "on a terminal"


class TorchStylizer:
    """The torch counterpart of runtime.Stylizer: same call signature, for .ckpt/.pth models."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
        import torch

        from faststyle.model.checkpoint import load_model
        from faststyle.export.onnx_export import PixelStylizer
        from faststyle.model.phase_conv import inference_net

        if device == "cuda" and not torch.cuda.is_available():
            raise UserError("--device cuda: torch sees no CUDA GPU (use --device cpu)")
        if threads:
            torch.set_num_threads(threads)
        loaded = load_model(path)
        self.path, self.style, self.device = Path(path), loaded.style, torch.device(device)
        # the export's faster equivalent form, channels-last: 1.3x plain eager at 512 px (bench/run.py)
        net = inference_net(loaded.net).to(memory_format=torch.channels_last)
        self.module = PixelStylizer(net).eval().to(self.device)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] or [N, H, W, 3] -> stylized uint8 of the same shape."""
        import torch

        batch = image[None] if image.ndim == 3 else image
        with torch.inference_mode():
            out = self.module(torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)).cpu().numpy()
        return out[0] if image.ndim == 3 else out


def load_stylizer(spec: str | os.PathLike | None = None, backend: str = "ort", device: str = "cpu",
                  threads: int | None = None):
    """Model spec -> a callable uint8 [H, W, 3] -> uint8 [H, W, 3] with a `.style` attribute.

    ort + .onnx runs the file; ort + .ckpt/.pth exports it to a temporary ONNX file first
    (unverified, ~10 s); torch runs .ckpt/.pth directly and refuses .onnx.
    """
    from faststyle.inference.onnx_runtime import Stylizer, cpu_providers, cuda_providers

    if backend not in ("ort", "torch") or device not in ("cpu", "cuda"):
        raise UserError(f"unknown backend/device {backend}/{device} (use ort|torch and cpu|cuda)")
    path = resolve_model(spec)
    kind = path.suffix.lower()
    if kind not in (".onnx", ".ckpt", ".pth"):
        raise ModelError(f"{path}: unknown model type '{path.suffix}' (use .onnx, .ckpt or .pth)")
    if backend == "torch":
        if kind == ".onnx":
            raise UserError(f"{path}: --backend torch needs a .ckpt or .pth model (run .onnx with --backend ort)")
        return TorchStylizer(path, device, threads)
    providers = cuda_providers() if device == "cuda" else cpu_providers()
    if kind == ".onnx":
        return Stylizer(path, threads=threads, providers=providers)
    from faststyle.model.checkpoint import load_model
    from faststyle.export.onnx_export import export_onnx

    loaded = load_model(path)  # a ModelError here names the user's file, not a temp file
    with tempfile.TemporaryDirectory(prefix="faststyle-") as tmp:
        onnx_path = export_onnx(loaded, Path(tmp) / f"{path.stem}.onnx", verify=False)
        return Stylizer(onnx_path, threads=threads, providers=providers)  # ORT holds the model in memory


def _bar(total: int, desc: str, progress: bool | None):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=None if progress is None else not progress)


def stylize_array(stylizer: Callable[[np.ndarray], np.ndarray], image: np.ndarray, opts: Options = Options(),
                  desc: str = "tiles") -> np.ndarray:
    """uint8 [H, W, 3] photo -> uint8 [h, w, 3] result, (h, w) after --max-size/--scale."""
    photo = fit_rgb(image, opts.max_size, opts.scale)
    if opts.strength == 0:
        return photo.copy()  # nothing of the style would survive the blend
    h, w = photo.shape[:2]
    tile = opts.tile
    if tile is None:
        tile = AUTO_TILE if h * w > AUTO_TILE_PIXELS else 0
    if tile and max(h, w) > tile:
        n = count_tiles(h, w, tile)
        with _bar(n, desc, opts.progress if n > 1 else False) as bar:
            styled = stylize_tiled(photo, stylizer, tile, on_tile=bar.update)
    else:
        styled = stylizer(photo)
    if opts.preserve_color:
        styled = preserve_color(styled, photo)
    return blend(styled, photo, opts.strength)


def stylize_path(stylizer, in_path: str | os.PathLike, out_path: str | os.PathLike, opts: Options = Options()) -> Path:
    """Stylize one image or video file into `out_path` (written atomically; format from its suffix)."""
    from faststyle.inference.video import is_video, stylize_video

    in_path = Path(in_path)
    if is_video(in_path):
        # Frames never get a tile bar of their own: the frame bar is the progress.
        frame_opts = replace(opts, progress=False)
        return stylize_video(in_path, out_path, lambda frame: stylize_array(stylizer, frame, frame_opts),
                             progress=opts.progress)
    image = load_rgb(in_path)
    return save_rgb(stylize_array(stylizer, image, opts, desc=in_path.name), out_path)


def expand_inputs(args: list[str], skip_suffix: str = "") -> tuple[list[Path], list[str]]:
    """Command-line INPUTs -> (files to process, one-line errors for inputs that name nothing).

    A file is taken as given (its format is checked when it is read). A folder gives its
    images and videos, not recursing into subfolders, skipping hidden files and names
    ending in `skip_suffix` (our own earlier outputs, e.g. "_starry_night"). Anything
    else with * ? [ in it is expanded as a glob (for shells that do not, like cmd.exe).
    """
    import glob

    from faststyle.image_io import IMAGE_SUFFIXES
    from faststyle.inference.video import VIDEO_SUFFIXES

    wanted = IMAGE_SUFFIXES | VIDEO_SUFFIXES
    files: list[Path] = []
    errors: list[str] = []
    for arg in args:
        path = Path(arg).expanduser()
        if path.is_dir():
            found = [p for p in sorted(path.iterdir()) if p.is_file() and p.suffix.lower() in wanted
                     and not p.name.startswith(".") and not (skip_suffix and p.stem.endswith(skip_suffix))]
            if not found:
                errors.append(f"{path}: no images or videos in this folder")
            files += found
        elif not path.exists() and any(c in arg for c in "*?["):
            found = [Path(p) for p in sorted(glob.glob(str(path))) if Path(p).is_file()]
            if not found:
                errors.append(f"{arg}: no files match this pattern")
            files += found
        else:
            files.append(path)  # a missing file is reported when it is read, in input order
    seen: set[Path] = set()
    unique = [p for p in files if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique, errors


def output_name(src: Path, style: str) -> str:
    """photo.png -> photo_<style>.jpg; a video keeps its container (clip.mov -> clip_<style>.mov)."""
    from faststyle.inference.video import CONTAINERS

    suffix = src.suffix.lower() if src.suffix.lower() in CONTAINERS else ".jpg"
    return f"{src.stem}_{safe_name(style)}{suffix}"


def safe_name(style: str) -> str:
    """A style name from model metadata, made safe for a file name ("la muse/v2" -> "la_muse_v2")."""
    import re

    return re.sub(r"[^\w.-]+", "_", style).strip("._") or "styled"
