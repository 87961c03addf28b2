"""The README's and docs' generated tables say what their records in bench/results say."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import report  # noqa: E402  (bench/ is not a package)


def test_every_generated_page_matches_its_records(capsys):
    # A figure typed into README.md or docs/ by hand, or a record changed without `python
    # bench/report.py`, shows up here as a page its records would rewrite.
    assert report.main(["--check"]) == 0, capsys.readouterr().out


def test_a_hand_edited_table_is_caught(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    edited = readme.replace("| candy | 512 px | multistyle | ", "| candy | 512 px | multistyle | 0.999 ", 1)
    assert edited != readme
    assert report.readme_with_blocks(edited) == readme


def test_every_log_table_says_where_it_came_from():
    # The research log's tables in docs/ (bench/results/log_<page>.json): each names its command
    # and machine (or says none is named) and says it was transcribed, not re-run.
    for page in report.LOG_PAGES:
        for name, table in report.load(f"log_{page}.json")["tables"].items():
            assert table["command"] and table["machine"] and "not re-run" in table["transcribed"], (page, name)
            assert all(len(row) == len(table["columns"]) for row in table["rows"]), (page, name)


def test_a_hand_edited_log_table_is_caught():
    page = (ROOT / "docs" / "time_to_quality.md").read_text()
    edited = page.replace("| same | 30 | 732 | **1.178** |", "| same | 30 | 732 | **1.100** |", 1)
    assert edited != page
    assert report.with_blocks("docs/time_to_quality.md", edited) == page
