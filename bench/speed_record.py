"""One machine's speed record (bench/results/<slug>.json) and the markdown page it renders; and
the record any other bench script writes of the tables it printed (write_record).

bench/run.py writes the record while it measures and bench/results/<slug>.md as doc(record);
bench/report.py renders the pages, and docs/speed.md's blocks, from the records again. A record:

    {"format": FORMAT,
     "command": how it was made, "machine": the CPU (or GPU) summary and torch version,
     "transcribed": (records typed in from an older page only) where from, and that it was not re-run,
     "title": the page's "# " line, "header": the lines under it,
     "inference": TABLE (bench/run.py's paths x sizes table; "heading": [its model line]),
     "training": {"intro": [lines], "tables": [TABLE, ...]} (images/s, bench/train_speed.py),
     "tables": [TABLE, ...] (any further table), "notes": [lines at the end]}

    TABLE = {"heading": [lines: a paragraph of their own above the table],
             "caption": [lines directly above the table], "columns": [names], "rows": [[cells]],
             and what the cells do not say ("arch", "batch", ...)}

Every figure is a cell, a string exactly as printed. Paragraphs are separated by one blank line,
so a "" in a list of lines is one more.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMAT = "faststyle-speed/1"
PARTS = ("inference", "training", "tables")


def row(cells: list[str]) -> str:
    """One markdown table row; an empty cell stays one space wide."""
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def table_lines(columns: list[str], rows: list[list[str]]) -> list[str]:
    return [row(columns), "|---" * len(columns) + "|", *map(row, rows)]


def parse_table(lines: list[str]) -> dict[str, Any]:
    """{"columns", "rows"} of a markdown table's lines (header, rule, rows)."""
    cells = [[c.strip() for c in line.strip()[1:-1].split("|")] for line in lines]
    return {"columns": cells[0], "rows": cells[2:]}


def table_paragraphs(table: dict[str, Any]) -> list[str]:
    heading = ["\n".join(table["heading"])] if table.get("heading") else []
    return [*heading, "\n".join([*table.get("caption", []), *table_lines(table["columns"], table["rows"])])]


def paragraphs(record: dict[str, Any], parts: tuple[str, ...] = PARTS) -> list[str]:
    """The record's tables (of `parts`), with their headings, one paragraph each."""
    out = []
    if "inference" in parts and "inference" in record:
        out += table_paragraphs(record["inference"])
    if "training" in parts and "training" in record:
        training = record["training"]
        out += ["\n".join(training["intro"])] if training.get("intro") else []
        for table in training["tables"]:
            out += table_paragraphs(table)
    if "tables" in parts:
        for table in record.get("tables", []):
            out += table_paragraphs(table)
    return out


def doc(record: dict[str, Any]) -> str:
    """bench/results/<slug>.md: title, header, the tables, notes."""
    out = [f"# {record['title']}"]
    out += ["\n".join(record["header"])] if record.get("header") else []
    out += paragraphs(record)
    out += ["\n".join(record["notes"])] if record.get("notes") else []
    return "\n\n".join(out) + "\n"


def block(record: dict[str, Any], parts: tuple[str, ...] = ("inference", "training")) -> str:
    """The record's tables for a page that quotes them (docs/speed.md), without the page's title."""
    return "\n\n".join(paragraphs(record, parts))


def dumps(value: Any, indent: str = "") -> str:
    """JSON as the other records are written (one space a level), but a list of plain values (a
    table's row) on one line."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value)


# The other bench scripts' records (bench/train_speed.py, video_stability.py, ...): the tables a
# script printed, named, in the TABLE format above, with how and where it ran; bench/report.py's
# record_blocks renders them back as they were printed.
#
#     {"format": BENCH_FORMAT, "command": the command line, "machine": this_machine(), "date": "YYYY-MM-DD",
#      "tables": {name: TABLE, ...}}
#
# A TABLE's "caption" is the lines printed directly above it, its "heading" the paragraphs printed
# before those (since the table before it), and the last TABLE's "notes" what was printed after it.
BENCH_FORMAT = "faststyle-bench/1"
RESULTS = Path(__file__).resolve().parent / "results"


class Printed:
    """What a bench script prints for its record: each line shows at once (a long run shows its
    rows as they come) and is kept."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def text(self) -> str:
        return "\n".join(self.lines)


def add_record_option(parser: argparse.ArgumentParser, script: str) -> None:
    parser.add_argument(
        "--record",
        default=str(RESULTS / f"{script}.json"),
        metavar="PATH",
        help=f"write the run's record (command, machine, date, the tables) here [bench/results/{script}.json]; "
        "'' writes none",
    )


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that runs bench/<script>.py with `argv` (its main's; None: this process's own)."""
    return shlex.join(["python", f"bench/{script}.py", *(sys.argv[1:] if argv is None else argv)])


def this_machine() -> str:
    """The machine as bench/run.py's records name it (the CPU's model, cores and matrix instructions;
    torch's version), with the GPU where torch sees one: a script that runs on either says which in
    the lines it prints."""
    import torch

    from faststyle.cpu import cpu_summary

    gpu = f"; {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu_summary()}{gpu}; torch {torch.__version__}"


def trimmed(lines: list[str]) -> list[str]:
    """`lines` without the blank lines before and after them."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def captioned(text: list[str], table: list[str]) -> dict[str, Any]:
    """A TABLE from its printed lines and the text printed before it: the lines directly above are
    its caption, the paragraphs before those its heading."""
    cut = max((i + 1 for i, line in enumerate(text) if not line.strip()), default=0)  # after the last blank line
    heading, caption = trimmed(text[:cut]), text[cut:]
    return {
        **({"heading": heading} if heading else {}),
        **({"caption": caption} if caption else {}),
        **parse_table(table),
    }


def parse_tables(printed: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The markdown tables in `printed`, in order, as TABLEs named `names`."""
    found: list[dict[str, Any]] = []
    text: list[str] = []  # the lines since the last table
    table: list[str] = []
    for line in [*printed.splitlines(), ""]:  # the "" ends a table on the last line
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            found.append(captioned(text, table))
            text, table = [], []
        text.append(line)
    if len(found) != len(names):
        raise ValueError(f"{len(found)} tables printed, {len(names)} names for them ({', '.join(names)})")
    if found and trimmed(text):
        found[-1]["notes"] = trimmed(text)
    return dict(zip(names, found, strict=True))


def write_record(path: str | Path, printed: str, names: Sequence[str], command: str, machine: str) -> None:
    """Writes the record of a bench run that printed `printed`, its tables named `names`, to `path`
    ('': none). Through a temporary file beside it, renamed over it: an interrupted write leaves the
    record that was there before, or none, never part of one."""
    if path == "":
        return
    record = {
        "format": BENCH_FORMAT,
        "command": command,
        "machine": machine,
        "date": datetime.date.today().isoformat(),
        "tables": parse_tables(printed, names),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(dumps(record) + "\n")
        partial.replace(path)
    except BaseException:  # Ctrl-C too
        partial.unlink(missing_ok=True)
        raise
