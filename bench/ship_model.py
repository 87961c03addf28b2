"""Put a trained model into the package as a bundled one, with no path of the machine it was
trained on, and export its ONNX twin with this checkout's exporter.

    python bench/ship_model.py checkpoints/wave/wave.pth --data "coco128 and photos_extra" [--name wave] [--file wave]

Writes src/faststyle/models/NAME.pth and NAME.onnx. Each style record keeps only its image's
file name; path-valued settings in the recipe (the style images, --data and the folders) become
what a reader can follow: file names, and --data as the --data text given here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "faststyle" / "models"
FOLDERS = ("checkpoint_dir", "log_dir", "export_dir", "vgg_weights", "config", "base")


def without_paths(hparams: dict[str, Any], data: str) -> dict[str, Any]:
    plain = dict(hparams)
    if isinstance(plain.get("style"), list):
        plain["style"] = [Path(s).name for s in plain["style"]]
    if isinstance(plain.get("styles"), list):  # the run's style records, saved with the recipe
        plain["styles"] = [{**r, "image": Path(r["image"]).name if r.get("image") else None} for r in plain["styles"]]
    plain["data"] = data
    for key in FOLDERS:
        if isinstance(plain.get(key), str) and ("/" in plain[key] or "\\" in plain[key]):
            plain[key] = Path(plain[key]).name
    return plain


def fit_known_paintings(loaded: Any) -> None:
    """A predictor's head corrected so the base's own paintings (in ../shared/styles and styles_extra)
    are predicted exactly as their rows (StylePredictor.fit_known)."""
    import torch

    from faststyle.inference.painted import read_painting
    from faststyle.pixels import array_to_net

    shared = ROOT.parent / "shared"
    found = []  # (row, painting file): a run's records hold paths, a shipped model's file names
    for index, style in enumerate(loaded.styles):
        name = Path(style["image"] or "").name
        files = [folder / name for folder in (shared / "styles", shared / "styles_extra") if name]
        found += [(index, f) for f in files if f.is_file()][:1]
    with torch.no_grad():
        stats = torch.cat([loaded.predictor.statistics(array_to_net(read_painting(path))) for _, path in found])
    loaded.predictor.fit_known(stats, torch.tensor([index for index, _ in found]))
    print(f"predictor fitted to {len(found)} of the base's {len(loaded.styles)} paintings")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a final model .pth")
    p.add_argument("--data", required=True, help="what the model trained on, in words")
    p.add_argument("--name", help="the model's name, which names stylize's outputs (default: the model's own)")
    p.add_argument("--file", help="the bundled files' name, NAME.pth/.onnx (default: --name)")
    args = p.parse_args(argv)

    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import load_model, save_model

    loaded = load_model(args.model)
    name = args.name or loaded.name
    styles = [{**s, "image": Path(s["image"]).name if s.get("image") else None} for s in loaded.styles]
    stem = args.file or name
    recipe = without_paths(loaded.hparams, args.data)
    if loaded.predictor is not None:  # thousands of paintings: --data and bench/predictor_paintings.py tell them
        recipe.pop("style", None)
        fit_known_paintings(loaded)
    pth = save_model(loaded.net, MODELS / f"{stem}.pth", name, recipe, styles, predictor=loaded.predictor)
    onnx_path = export_onnx(pth, MODELS / f"{stem}.onnx")
    print(f"wrote {pth} and {onnx_path}" + (" (and its predictor graph)" if loaded.predictor is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
