"""One machine's speed record (bench/results/<slug>.json) and the markdown page it renders.

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

import json
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
