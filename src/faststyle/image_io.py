"""Reading and writing image files, with one-line errors for anything a user can feed us.

Needs only numpy and pillow, so the ONNX runtime path can use it without torch.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import ExifTags, Image, UnidentifiedImageError

from faststyle.errors import ImageError, UserError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm"}
# Pillow's default bomb limit is ~89 Mpx; tiled stylization is meant for 48 Mpx photos and
# more, so we allow 4x that but no further: beyond it a "photo" is almost surely an attack.
MAX_PIXELS = 4 * 89_478_485


def pillow_to_rgb(img: Image.Image) -> NDArray[np.uint8]:
    """Any Pillow mode -> uint8 [H, W, 3] RGB."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping at 255 as convert() does.
        depth = 65535.0 if img.mode.startswith("I;16") or np.asarray(img).max() > 255 else 255.0
        grey = np.clip(np.asarray(img, dtype=np.float64) * (255.0 / depth), 0, 255).round()
        return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    if img.mode == "F":
        # Float greyscale: 0-1 as most tools write it; any other range (0-255, 0-4095, negative)
        # is stretched from its own min to max, not clipped into one flat grey.
        values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 1:
            values = (values - low) / (high - low) if high > low else np.zeros_like(values)
        grey = np.clip(values * 255.0, 0, 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels become white, as a viewer shows them on a page.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.array(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)


# Wanted size (h, w) of a picture of (h, w): the loaders then decode no bigger than they must.
# Called with the stored (not yet EXIF-turned) size; a rule that treats both sides alike, as
# fit_size does, gives the turned size turned. It may raise UserError to refuse the picture.
Sizing = Callable[[int, int], tuple[int, int]]
# A picture shrunk while decoding keeps KEEP times the wanted size for the final Lanczos resize.
# Pillow's thumbnail keeps 2; at 4, photos at 128-512 px come out within 0.4 levels on average
# (most of them exactly) of the full-size decode's result, and a 12000 px one still costs no more.
KEEP = 4


def load_rgb(
    path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS, size: Sizing | None = None
) -> NDArray[np.uint8]:
    """Read an image file as uint8 [H, W, 3] RGB, upright as its EXIF says; with `size`, at the
    size it gives, reduced while decoding where it is smaller (see _decode).

    Raises ImageError with a one-line message for every way a file can be unusable.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    return _decode(path, str(path), max_pixels, size)


def decode_rgb_bytes(
    data: bytes, max_pixels: int = MAX_PIXELS, label: str = "image bytes", size: Sizing | None = None
) -> NDArray[np.uint8]:
    """Like load_rgb, for image bytes held in memory (datasets hand us these)."""
    if not data:
        raise ImageError(f"{label}: empty (0 bytes)")
    return _decode(io.BytesIO(data), label, max_pixels, size)


@contextmanager
def pillow_limit(max_pixels: int = MAX_PIXELS) -> Iterator[None]:
    """Pillow's decompression-bomb guard at `max_pixels` instead of its own ~89 Mpx (which would
    refuse photos we mean to take, and raises DecompressionBombError past ~179 Mpx), and as an
    error, not a warning: every Image.open of a user's file goes through this."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _decode(source: Path | io.BytesIO, label: str, max_pixels: int, size: Sizing | None = None) -> NDArray[np.uint8]:
    """Open, size-check, decode, rotate upright, convert to RGB; every failure -> one ImageError line.

    With `size`, a picture at least 2 * KEEP times too big on each side is shrunk before its
    copies are made: a JPEG is decoded at 1/2, 1/4 or 1/8 scale (Pillow's draft), any other
    format box-reduced right after decoding (PNG has no reduced decode). `stylize --max-size 256`
    of a 12000x12000 PNG peaked at 2.6 GB in full-size copies, now 0.67 GB; of a JPEG 0.13 GB.
    """
    try:
        with pillow_limit(max_pixels), Image.open(source) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(
                    f"{label}: {w}x{h} is more than {max_pixels / 1e6:.0f} Mpx, the most faststyle decodes; "
                    "shrink it first (e.g. to 16k px on its longer side)"
                )
            if w == 0 or h == 0:
                raise ImageError(f"{label}: image has zero size ({w}x{h})")
            try:  # before decoding: a refused size costs no pixels
                want = size(h, w) if size is not None else (h, w)
            except UserError as e:
                raise ImageError(f"{label}: {e}") from None
            if size is not None:
                img.draft(None, (KEEP * want[1], KEEP * want[0]))  # JPEG only; a no-op for other formats
            img.load()
            orientation = img.getexif().get(ExifTags.Base.Orientation, 1)  # before reduce(): a TIFF's goes
            factor = min(img.width // (KEEP * want[1]), img.height // (KEEP * want[0]))
            picture = _reduce(img, factor) if factor >= 2 else img
            rgb = pillow_to_rgb(_upright(picture, orientation))
            return resize_rgb(rgb, (want[1], want[0]) if orientation in TURNED else want)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not an image file Pillow can read (unsupported or corrupt format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{label}: a compressed part of this file expands past {max_pixels / 1e6:.0f} Mpx (Pillow's "
            "decompression-bomb guard); re-save it with an image editor, or shrink it"
        ) from None
    except PermissionError:
        raise ImageError(f"{label}: permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{label}: corrupt or truncated image ({e})") from None
    except Exception as e:  # a fuzzed file can hit any decoder bug; the user still gets one line
        raise ImageError(f"{label}: cannot decode image ({type(e).__name__}: {e})") from None


# EXIF orientation -> the transpose that turns the picture upright (as ImageOps.exif_transpose,
# which also copies a picture that needs no turn: 0.4 GB at 144 Mpx).
TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
TURNED = {5, 6, 7, 8}  # the orientations that swap width and height


def _upright(img: Image.Image, orientation: int) -> Image.Image:
    method = TRANSPOSES.get(orientation)
    return img if method is None else img.transpose(method)


def _reduce(img: Image.Image, factor: int) -> Image.Image:
    """`img` shrunk `factor` times by box averaging; as it is where Pillow cannot reduce its mode."""
    if img.mode in ("P", "PA", "1"):  # palette and bilevel pictures have no average: to colours first
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB")
    try:
        return img.reduce(factor)
    except ValueError:  # e.g. 16-bit greyscale: reduced later by the resize instead
        return img


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temp path beside `path`; on success it is renamed onto `path`, else deleted.

    A crash or error mid-write never leaves a half-written file under the final name. A
    folder the user cannot write to, a full or read-only disk, become one UserError line that
    names `path` (not the temp file).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"{path}: cannot write there ({_reason(e)}); choose another output location") from None
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise
        raise UserError(f"{path}: could not be written ({_reason(e)})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def ensure_writable(folder: str | os.PathLike[str], advice: str = "choose another output location") -> None:
    """Make `folder` (and its parents) and prove a file can be written in it, before long work
    whose results would go there; else one UserError line ending in `advice`."""
    folder = Path(folder)
    made = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test"):
            pass
    except OSError as e:
        raise UserError(f"{folder}: cannot write there ({_reason(e)}); {advice}") from None
    finally:  # leave no empty folder behind: the results make it again when they are written
        for p in made:
            with contextlib.suppress(OSError):
                p.rmdir()


# Failures of writing itself: reported as one line; any other OSError is the caller's to explain.
WRITE_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.ENOSPC,
    errno.EROFS,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.ENAMETOOLONG,
    errno.EEXIST,
}


def _reason(e: OSError) -> str:
    if isinstance(e, (FileExistsError, NotADirectoryError)) and e.filename:
        blocker = next((p for p in [Path(e.filename), *Path(e.filename).parents] if p.is_file()), None)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
    return (e.strerror or type(e).__name__).lower()


def save_rgb(image: NDArray[np.uint8], path: str | os.PathLike[str], quality: int = 95) -> Path:
    """Write uint8 [H, W, 3] atomically; the format follows the file suffix."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unknown output format '{path.suffix}' (use .jpg, .png or .webp)")
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    with atomic_path(path) as tmp:
        Image.fromarray(image, "RGB").save(tmp, format=fmt, **kwargs)
    return path


def fit_size(h: int, w: int, max_size: int | None = None, scale: float | None = None) -> tuple[int, int]:
    """Target (h, w) after an optional scale factor and a cap on the longer side."""
    if scale is not None:
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    if max_size is not None and max(h, w) > max_size:
        r = max_size / max(h, w)
        h, w = max(1, round(h * r)), max(1, round(w * r))
    return h, w


def fit_rgb(image: NDArray[np.uint8], max_size: int | None = None, scale: float | None = None) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] resized by `scale`, then shrunk so its longer side is at most `max_size`."""
    h, w = image.shape[:2]
    return resize_rgb(image, fit_size(h, w, max_size, scale))


def resize_rgb(image: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """uint8 [H, W, 3] -> uint8 [h, w, 3] with a high-quality filter (no-op if unchanged)."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.LANCZOS))
