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
