"""Which engine runs a model fastest on this machine while staying correct, chosen by measuring.

Engines (all torch-free): ONNX Runtime fp32 (the reference, always there), ONNX Runtime int8
(when a quantized NAME.int8.onnx sits beside NAME.onnx: `faststyle export --int8`), and
OpenVINO fp32 and bf16 (when the `openvino` package is installed; bf16 only on CPUs with AMX
or AVX512-BF16). An engine counts as correct when its output on a photo differs from ONNX
Runtime fp32's by at most 1 uint8 level on average and 24 at most.

The first time a model is used on a machine, every candidate stylizes the calibration photo
once for the check and three times more for the clock (a few seconds); the fastest correct one
is remembered in $FASTSTYLE_CACHE (default ~/.cache/faststyle)/engines.json, keyed by the model
file's contents, the CPU and the runtime versions, so later runs start at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faststyle.blend import StyleSpec
from faststyle.cpu import cpu_has_bf16, cpu_summary
from faststyle.errors import UserError
from faststyle.export.metadata import int8_path, metadata_of, read_proto
from faststyle.image_io import load_rgb
from faststyle.inference.onnx_runtime import OrtStylizer
from faststyle.inference.openvino_runtime import OpenVinoStylizer
from faststyle.inference.stylizer import TORCH_FREE_BACKENDS as BACKENDS
from faststyle.inference.stylizer import Stylizer
from faststyle.timing import median_ms

MAX_MEAN_LEVELS, MAX_LEVELS = 1.0, 24
CALIBRATION_PHOTO = Path(__file__).resolve().parents[1] / "models" / "calibration.jpg"


@dataclass
class Trial:
    """One engine's result on the calibration photo."""

    backend: str
    precision: str
    ms: float
    mean_levels: float
    max_levels: int
    psnr_db: float

    @property
    def correct(self) -> bool:
        return self.mean_levels <= MAX_MEAN_LEVELS and self.max_levels <= MAX_LEVELS


def openvino_installed() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def candidates(path: Path, backend: str = "auto", precision: str = "auto") -> list[tuple[str, str]]:
    """(backend, precision) pairs this machine can run for this model, narrowed by the request."""
    found = [("ort", "fp32")]
    if int8_path(path).is_file():
        found.append(("ort", "int8"))
    pixels = metadata_of(read_proto(path)).get("layout", "pixels") == "pixels"  # zoo layout: ONNX Runtime only
    if pixels and openvino_installed():
        found.append(("openvino", "fp32"))
        if cpu_has_bf16():
            found.append(("openvino", "bf16"))
    return [(b, p) for b, p in found if backend in ("auto", b) and precision in ("auto", p)]


def open_engine(
    path: Path,
    backend: str,
    precision: str,
    threads: int | None = None,
    style: StyleSpec = None,
    providers: list[str] | None = None,
) -> Stylizer:
    """One engine, forced: a one-line UserError when this machine or model cannot run it."""
    if backend == "ort":
        if precision == "fp32":
            return OrtStylizer(path, threads=threads, providers=providers, style=style)
        if precision == "int8":
            if not int8_path(path).is_file():
                raise UserError(
                    f"--precision int8: no {int8_path(path).name} beside {path.name} "
                    "(make one with `faststyle export --int8`)"
                )
            return OrtStylizer(int8_path(path), threads=threads, providers=providers, style=style)
        raise UserError(f"ONNX Runtime runs this model in fp32 or int8, not {precision} (try --backend openvino)")
    if backend == "openvino":
        if precision == "int8":
            raise UserError("OpenVINO runs this model in fp32 or bf16; for int8 use --backend ort")
        return OpenVinoStylizer(path, precision, threads=threads, style=style)
    raise UserError(f"unknown backend {backend!r} (use one of {', '.join(BACKENDS)})")


def calibration_photo() -> NDArray[np.uint8]:
    return load_rgb(CALIBRATION_PHOTO)


def trial(engine: Stylizer, reference: NDArray[np.uint8], photo: NDArray[np.uint8], runs: int = 3) -> Trial:
    out = engine(photo)
    diff = np.abs(out.astype(np.int16) - reference.astype(np.int16))
    mse = float((diff.astype(np.float64) ** 2).mean())
    psnr = 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)
    ms = median_ms(lambda: engine(photo), runs)
    return Trial(engine.backend, getattr(engine, "precision", "fp32"), ms, float(diff.mean()), int(diff.max()), psnr)


def agrees(engine: Stylizer, reference: Stylizer, weights: NDArray[np.float32]) -> bool:
    """Whether `engine` stays correct against the ONNX Runtime fp32 `reference` with these style
    weights too (a painting's embedding, which the choice, made with the model's first style, never saw)."""
    photo = calibration_photo()
    diff = np.abs(engine(photo, weights).astype(np.int16) - reference(photo, weights).astype(np.int16))
    return float(diff.mean()) <= MAX_MEAN_LEVELS and int(diff.max()) <= MAX_LEVELS


def measure(path: Path, options: list[tuple[str, str]], threads: int | None = None) -> list[Trial]:
    """Every option on the calibration photo, against ONNX Runtime fp32."""
    photo = calibration_photo()
    reference_engine = open_engine(path, "ort", "fp32", threads)
    reference = reference_engine(photo)
    trials = []
    for backend, precision in options:
        engine = (
            reference_engine
            if (backend, precision) == ("ort", "fp32")
            else open_engine(path, backend, precision, threads)
        )
        trials.append(trial(engine, reference, photo))
    return trials


def speedup(best: Trial, trials: list[Trial]) -> str:
    """ "openvino bf16 (5.3x ONNX Runtime fp32, within 12 levels)", the ratio only where ORT fp32 was timed."""
    reference = next((t for t in trials if (t.backend, t.precision) == ("ort", "fp32")), None)
    ratio = f"{reference.ms / best.ms:.1f}x ONNX Runtime fp32, " if reference else ""
    return f"{best.backend} {best.precision} ({ratio}within {best.max_levels} levels)"


def cache_file() -> Path:
    root = os.environ.get("FASTSTYLE_CACHE") or Path.home() / ".cache" / "faststyle"
    return Path(root) / "engines.json"


def cache_key(path: Path, options: list[tuple[str, str]], threads: int | None) -> str:
    import onnxruntime

    versions = f"ort {onnxruntime.__version__}"
    if openvino_installed():
        import openvino

        versions += f", openvino {openvino.__version__}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{digest} | {cpu_summary()} | {versions} | threads {threads} | {options}"


def choose(
    path: Path, backend: str = "auto", precision: str = "auto", threads: int | None = None, quiet: bool = False
) -> tuple[str, str]:
    """The fastest correct (backend, precision) for this model here, measured once and cached."""
    if backend == "openvino" and not openvino_installed():
        raise UserError("OpenVINO is not installed (pip install 'faststyle-transfer[openvino]')")
    if backend != "auto" and precision != "auto":
        return backend, precision  # forced: open_engine says why, in one line, if this machine cannot run it
    options = candidates(path, backend, precision)
    if not options and precision in ("int8", "bf16"):  # let the engine that would run it say why it cannot
        open_engine(path, "ort" if precision == "int8" else "openvino", precision)
    if not options:
        raise UserError(
            f"nothing here runs --backend {backend} --precision {precision} "
            f"(available: {', '.join(f'{b} {p}' for b, p in candidates(path)) or 'none'})"
        )
    if len(options) == 1:
        return options[0]
    store = cache_file()
    key = cache_key(path, options, threads)
    cached: Any = {}
    with contextlib.suppress(OSError, ValueError, RecursionError):
        cached = json.loads(store.read_text())
    if not isinstance(cached, dict):
        cached = {}  # a cache, not the user's input: a broken one is measured again and written over
    remembered = cached.get(key)  # an entry naming none of the options here is as broken: measured again
    if isinstance(remembered, dict) and (remembered.get("backend"), remembered.get("precision")) in options:
        return remembered["backend"], remembered["precision"]
    trials = measure(path, options, threads)
    correct = [t for t in trials if t.correct]
    if not correct:  # fp32 paths match the reference; only a forced reduced precision can miss
        near = min(trials, key=lambda t: t.max_levels)
        raise UserError(
            f"{near.backend} {near.precision} differs from ONNX Runtime fp32 by {near.mean_levels:.2f} levels on "
            f"average and {near.max_levels} at most on this model here (limits {MAX_MEAN_LEVELS:g} and "
            f"{MAX_LEVELS}); use --precision fp32"
        )
    best = min(correct, key=lambda t: t.ms)
    if not quiet:
        print(
            f"faststyle: {path.name} runs fastest here with {speedup(best, trials)}; remembered in {store}",
            file=sys.stderr,
        )
    cached[key] = {"backend": best.backend, "precision": best.precision, "trials": [asdict(t) for t in trials]}
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(cached, indent=1))
    except OSError:
        pass  # a read-only home folder only means measuring again next time
    return best.backend, best.precision
