"""The figures of README.md, docs/ and bench/results/*.md again, from the records in bench/results/.

    python bench/report.py           # rewrite every page from its record
    python bench/report.py --check   # change nothing; exit 1 naming each page its records would change

Each bench script writes its raw results as JSON under bench/results/ and renders its page from
that record; this renders them all again without measuring anything, so no figure in the docs or
in the README's tables is typed by hand. A page (in PAGES) is the whole file: docs/ pages, and
each machine's bench/results/<slug>.md from its <slug>.json (bench/run.py's speed records); other
files (README.md, docs/speed.md, the research log's pages in docs/) hold generated blocks between
`<!-- report:NAME -->` and `<!-- /report:NAME -->` (in BLOCKS).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anchors  # the bench scripts beside this one render their own pages
import predictor
import predictor_curve
import predictor_speed
import retrained
import speed_record
import stroke_scale

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs"
ANCHOR = "pytorch/examples"


def load(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((RESULTS / name).read_text())
    return record


def anchors_summary(record: dict[str, Any]) -> str:
    """The README's quality table: per style and size, the anchor and our bundled base, read at
    the side where the anchor's similarity peaks, and whether issue 48's target is met there."""
    lines = [
        "| style | output size | model | similarity at the anchor's peak side | stroke scale | structure "
        "(lower keeps more of the photo) | target met |",
        "|---|---|---|---|---|---|---|",
    ]
    for style, sizes in record["results"].items():
        for size, rows in sizes.items():
            anchor = rows[ANCHOR]
            curve = anchor["similarity_by_side"]
            side = max(curve, key=curve.get)
            for who in (ANCHOR, "multistyle"):
                scores = rows[who]
                at = scores["similarity_by_side"][side]
                met = at >= curve[side] - 0.01 and scores["structure"] <= anchor["structure"]
                lines.append(
                    f"| {style} | {size} px | {who} | {at:.3f} (at {side} px) | {scores['stroke_scale']:.0f} px | "
                    f"{scores['structure']:.3f} | {'' if who == ANCHOR else ('yes' if met else 'no')} |"
                )
    photos = record["photos"]
    lines += [
        "",
        f"Means over {len(photos)} held-out photos of photos_eval; `{record['command']}` on {record['machine']}. "
        "Target: similarity at least the anchor's less 0.01, structure no higher than the anchor's.",
    ]
    return "\n".join(lines)


def speed_records() -> list[str]:
    """The slugs of bench/run.py's speed records: bench/results/<slug>.json, each with its page <slug>.md."""
    return sorted(path.stem for path in RESULTS.glob("*.json") if load(path.name).get("format") == speed_record.FORMAT)


# The machines whose tables docs/speed.md quotes, in blocks `speed-<slug>` (the inference and
# training tables) and `speed-<slug>-tables` (its further tables, where the record has any); add a
# machine here once its blocks are in docs/speed.md. And the tables it quotes from runs no page in
# bench/results holds, transcribed into speed_notes.json: blocks `speed-note-<name>`.
SPEED_MACHINES = (
    "intel-r-xeon-r-processor-amx-bf16",
    "amd-epyc-avx512-bf16",
    "amd-epyc-family-26-model-2-avx512-bf16",
    "nvidia-h200",
)
SPEED_NOTES = ("xeon-later", "torch-layout", "avx2-epyc", "width")


def speed_blocks() -> dict[str, Callable[[], str]]:
    """docs/speed.md's blocks, each ending in a blank line: a line after a table would be one more row."""
    tables = lambda record: speed_record.block(record, ("tables",)) + "\n"
    blocks: dict[str, Callable[[], str]] = {}
    for slug in SPEED_MACHINES:
        blocks[f"speed-{slug}"] = lambda slug=slug: speed_record.block(load(f"{slug}.json")) + "\n"
        if load(f"{slug}.json").get("tables"):
            blocks[f"speed-{slug}-tables"] = lambda slug=slug: tables(load(f"{slug}.json"))
    for name in SPEED_NOTES:
        blocks[f"speed-note-{name}"] = lambda name=name: tables({"tables": [load("speed_notes.json")["tables"][name]]})
    return blocks


# The research log that moved from the README into docs/: each page's tables, typed into
# bench/results/log_<page>.json from the README at commit 6886925 (not re-run), in the table format
# of speed_record with the command and the machine the log names; a table is block `<!-- report:KEY -->`
# of its page, KEY its key in the record. Every table of a record must have its block on the page.
LOG_PAGES = ("time_to_quality", "results", "video", "web", "training")


def log_table(table: dict[str, Any]) -> str:
    """One transcribed table as its page quotes it: its heading, the command and the machine it came
    from, the table, its notes; ending in a blank line, as a line after a table would be one more row."""
    source = f"Command: {table['command']}. Machine: {table['machine']}."
    heading = "\n".join([*table.get("heading", []), source])
    out = speed_record.block({"tables": [{**table, "heading": [heading]}]}, ("tables",))
    return out + ("\n\n" + "\n".join(table["notes"]) if table.get("notes") else "") + "\n"


def log_blocks(page: str) -> dict[str, Callable[[], str]]:
    """docs/<page>.md's blocks, one a table of bench/results/log_<page>.json."""
    tables = lambda: load(f"log_{page}.json")["tables"]
    return {name: lambda name=name: log_table(tables()[name]) for name in tables()}


def record_blocks(name: str) -> dict[str, Callable[[], str]]:
    """Blocks for a page to quote bench/results/<name>.json, the record a bench script wrote of the
    tables it printed (speed_record.write_record), one a table under its key in the record: as printed,
    with the command, the date and the machine it came from, as log_table says them."""

    def render(key: str) -> str:
        record = load(f"{name}.json")
        source = {"command": f"`{record['command']}` on {record['date']}", "machine": record["machine"]}
        return log_table({**record["tables"][key], **source})

    return {key: lambda key=key: render(key) for key in load(f"{name}.json")["tables"]}


# Whole pages: path from the repository root -> how to render it from the records
PAGES: dict[str, Callable[[], str]] = {
    "docs/anchors.md": lambda: anchors.doc(load("anchors.json"), DOCS / "anchors_1024.jpg"),
    "docs/retrained.md": lambda: retrained.doc(load("retrained.json"), DOCS / "retrained_1024.jpg"),
    "docs/stroke_scale.md": lambda: stroke_scale.doc(load("stroke_scale.json")),
    **{
        f"bench/results/{slug}.md": lambda slug=slug: speed_record.doc(load(f"{slug}.json")) for slug in speed_records()
    },
}
# Generated blocks: path from the repository root -> {block name -> how to render it}
BLOCKS: dict[str, dict[str, Callable[[], str]]] = {
    "README.md": {"anchors": lambda: anchors_summary(load("anchors.json"))},
    "docs/speed.md": {**speed_blocks(), **record_blocks("train_speed"), **record_blocks("loader_speed")},
    **{f"docs/{page}.md": log_blocks(page) for page in LOG_PAGES},
}
BLOCKS["docs/training.md"].update({**record_blocks("per_layer_mosaic"), **record_blocks("per_layer_candy")})


def base_vs_single(record: dict[str, Any]) -> str:
    """The base's starry_night and wave beside the shipped single-style models (bench/retrained.py's format)."""
    photos = ", ".join(record["photos"])
    return "\n".join(
        [
            f"Means over {len(record['photos'])} held-out photos of photos_eval ({photos}).",
            f"Command: `{record['command']}`. Machine: {record['machine']}.",
            "",
            retrained.table(record["results"]),
        ]
    )


BLOCKS["docs/training.md"]["base-vs-single-512"] = lambda: base_vs_single(load("base_vs_single.json"))
BLOCKS["docs/predictor.md"] = {
    "predictor-quality": lambda: predictor.table(load("predictor.json")),
    "predictor-speed": lambda: predictor_speed.table(load("predictor_speed.json")),
    "predictor-training": lambda: predictor_curve.table(load("predictor_training.json")),
}


def with_blocks(file: str, text: str) -> str:
    """`file`'s text with every generated block rendered again from the records."""
    for name, render in BLOCKS[file].items():
        pattern = re.compile(rf"(<!-- report:{name} -->\n).*?(<!-- /report:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{file} has no <!-- report:{name} --> ... <!-- /report:{name} --> block")
        body = render()
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
    return text


def readme_with_blocks(text: str) -> str:
    """README.md's text with every generated block rendered again from the records."""
    return with_blocks("README.md", text)


def rendered() -> dict[Path, str]:
    """Every generated file's path and the text its records give it."""
    pages = {ROOT / name: render() for name, render in PAGES.items()}
    for name in BLOCKS:
        pages[ROOT / name] = with_blocks(name, (ROOT / name).read_text())
    return pages


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page differs from its records")
    args = p.parse_args(argv)
    stale = []
    for path, text in rendered().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        print(f"out of date with bench/results (run python bench/report.py): {', '.join(map(str, stale))}")
        return 1
    print(f"{'rewrote' if stale else 'up to date:'} {', '.join(map(str, stale)) or 'every page'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
