"""A short video of a still photo filmed by a shaky hand, for `faststyle evaluate --video`.

    python bench/handheld_clip.py ../shared/content/tubingen.jpg -o runs/handheld.mp4 [--frames 48] [--size 384x256]

A window drifts across the photo (2 px per frame to the right) with a smooth random shake (up to
3 px and 0.5 degrees) and a slow 4% zoom, with 1.5-level sensor noise per frame, encoded as H.264
(CRF 16) at 24 frames/s. The flow is not handed to the metric: `--video` estimates it, as on any
real clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import numpy as np
from PIL import Image


def frames(photo: Image.Image, count: int, width: int, height: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # smooth shake: random walks low-passed by a moving average
    shake = np.cumsum(rng.normal(0, 1, (count + 8, 3)), axis=0)
    shake = np.stack([np.convolve(shake[:, i], np.ones(8) / 8, "valid")[:count] for i in range(3)], 1)
    shake = shake / np.abs(shake).max(0) * [3.0, 3.0, 0.5]  # px, px, degrees
    scale = max(width + 2 * count + 16, 1.1 * width) / photo.width
    big = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    out = []
    for t in range(count):
        zoom = 1 + 0.04 * t / count
        w, h = width / zoom, height / zoom
        cx = 8 + width / 2 + 2 * t + shake[t, 0]
        cy = big.height / 2 + shake[t, 1]
        view = big.rotate(shake[t, 2], Image.Resampling.BICUBIC, center=(cx, cy))
        crop = view.resize(
            (width, height), Image.Resampling.BICUBIC, box=(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        )
        noisy = np.asarray(crop, dtype=np.float64) + rng.normal(0, 1.5, (height, width, 3))
        out.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photo", type=Path)
    p.add_argument("-o", "--output", type=Path, default=Path("runs/handheld.mp4"))
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", default="384x256", help="WxH, even numbers")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    images = frames(Image.open(args.photo).convert("RGB"), args.frames, width, height)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(args.output), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "16"}
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    print(f"wrote {args.output}: {len(images)} frames at {width}x{height}")


if __name__ == "__main__":
    main()
