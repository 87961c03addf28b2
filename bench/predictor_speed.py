"""What a new style costs: the predictor graph per painting, and the transform pass against the
multistyle model's on the same engine (issue 52: <= 100 ms for the painting at 256 px on this
2-core CPU; the transform no dearer than multistyle's).

    python bench/predictor_speed.py [--model anystyle] [--against multistyle] [--sizes 512 1024] [--runs 7]

Painting rows: the graph alone on a square 256x256 painting (the most pixels a painting can
bring: its longer side is always 256) and a 4:3 one, on each engine this machine has (ONNX
Runtime fp32; OpenVINO fp32 and bf16 when installed, bf16 where the CPU has it), and
`StylePredictor(model)(file)`, the whole call an app makes: decode, resize, run. Transform rows:
ms per photo at each size for both models, ONNX Runtime fp32, one thread pool, median of --runs.
Writes bench/results/predictor_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="anystyle", help="a model with a style predictor (name or .onnx)")
    p.add_argument("--against", default="multistyle", help="the model whose transform cost is the bar")
    p.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("-o", "--output", type=Path, default=ROOT / "bench" / "results" / "predictor_speed.json")
    args = p.parse_args(argv)

    import onnxruntime as ort

    from faststyle.cpu import cpu_has_bf16, cpu_summary
    from faststyle.inference.choose import openvino_installed
    from faststyle.inference.onnx_runtime import OrtStylizer
    from faststyle.inference.painted import StylePredictor, predictor_graph
    from faststyle.model_files import resolve_model
    from faststyle.timing import median_ms

    model, against = resolve_model(args.model), resolve_model(args.against)
    graph = predictor_graph(model)
    rng = np.random.default_rng(0)
    paintings = {"256x256": rng.integers(0, 256, (1, 256, 256, 3), np.uint8)}
    paintings["256x192"] = paintings["256x256"][:, :192]
    rows: list[dict[str, object]] = []

    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    for shape, pixels in paintings.items():
        ms = median_ms(lambda x=pixels: session.run(None, {"painting": x}), args.runs)
        rows.append({"what": "predictor graph", "painting": shape, "engine": "ort fp32", "ms": round(ms, 1)})
    if openvino_installed():
        import openvino as ov

        core = ov.Core()
        for precision in ("fp32", "bf16") if cpu_has_bf16() else ("fp32",):
            hint = {"fp32": "f32", "bf16": "bf16"}[precision]
            compiled = core.compile_model(str(graph), "CPU", {"INFERENCE_PRECISION_HINT": hint})
            reference = session.run(None, {"painting": paintings["256x256"]})[0]
            got = compiled(paintings["256x256"])[0]
            error = float(np.abs(got - reference).max() / np.abs(reference).max())
            for shape, pixels in paintings.items():
                ms = median_ms(lambda x=pixels: compiled(x), args.runs)
                rows.append(
                    {
                        "what": "predictor graph",
                        "painting": shape,
                        "engine": f"openvino {precision}",
                        "ms": round(ms, 1),
                        "embedding_error": round(error, 4),
                    }
                )
    predictor = StylePredictor(model)
    with tempfile.TemporaryDirectory() as tmp:
        from PIL import Image

        file = Path(tmp) / "painting.jpg"
        Image.fromarray(rng.integers(0, 256, (1200, 900, 3), np.uint8)).save(file, quality=92)
        ms = median_ms(lambda: predictor(file), args.runs)
        rows.append(
            {"what": "StylePredictor(file)", "painting": "1200x900 JPEG", "engine": "ort fp32", "ms": round(ms, 1)}
        )

    for size in args.sizes:
        photo = rng.integers(0, 256, (size, size, 3), np.uint8)
        timed = {}
        for path in (model, against):
            engine = OrtStylizer(path)
            timed[path.stem] = median_ms(lambda e=engine: e(photo), args.runs)
        rows.append(
            {
                "what": "transform",
                "size": size,
                "engine": "ort fp32",
                **{f"{name}_ms": round(ms, 1) for name, ms in timed.items()},
                "ratio": round(timed[model.stem] / timed[against.stem], 3),
            }
        )

    record = {"machine": cpu_summary(), "threads": os.cpu_count(), "model": model.name, "rows": rows}
    for row in rows:
        print(json.dumps(row))
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output} ({cpu_summary()})", file=sys.stderr)
    return 0


def table(record: dict[str, object]) -> str:
    """The record as docs/predictor.md shows it."""
    rows = record["rows"]
    assert isinstance(rows, list)
    lines = [
        f"Machine: {record['machine']}, {record['threads']} threads. Command: `python bench/predictor_speed.py`.",
        "",
        "| what | input | engine | ms |",
        "|---|---|---|---|",
    ]
    for row in rows:
        if row["what"] == "transform":
            ms = f"{row[record['model'].removesuffix('.onnx') + '_ms']} ({row['ratio']:.2f}x multistyle's)"
            lines.append(f"| transform pass | {row['size']} px photo | {row['engine']} | {ms} |")
        else:
            lines.append(f"| {row['what']} | {row['painting']} painting | {row['engine']} | {row['ms']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
