"""A bench script's record (bench/speed_record.py's write_record) holds the tables it printed, which
bench/report.py renders back as printed; a write that fails leaves no part of a record behind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import report  # noqa: E402  (bench/ is not a package)
import speed_record  # noqa: E402

# As bench/train_speed.py prints it: a caption over each table, a blank line between them
PRINTED = """\
Fake CPU; torch 2.x, 2 threads; arch=tiny batch=4; images/s (median of 1 steps after a warm-up)
(malloc: freed memory kept)
| size | plain loop fp32 | faststyle fp32, malloc default | faststyle fp32 |
|---|---|---|---|
| 32 | 40.00 | 50.00 (1.25x) | 52.00 (1.30x) |

utilisation of our step (the last column of its precision above):
| size | precision | images/s | GFLOP per image | TFLOP/s | matmul peak TFLOP/s | % of peak |
|---|---|---|---|---|---|---|
| 32 | fp32 | 52.00 | 0.1 | 0.0052 | 1.5 | 0% |"""
COMMAND = "python bench/train_speed.py --arch tiny --sizes 32 --steps 1 --precisions fp32"


def test_a_record_renders_back_to_the_tables_printed(tmp_path, monkeypatch):
    speed_record.write_record(tmp_path / "train_speed.json", PRINTED, ("speed", "utilisation"), COMMAND, "Fake CPU")
    record = json.loads((tmp_path / "train_speed.json").read_text())
    assert record["format"] == speed_record.BENCH_FORMAT
    assert (record["command"], record["machine"]) == (COMMAND, "Fake CPU") and record["date"]
    assert record["tables"]["speed"]["rows"] == [["32", "40.00", "50.00 (1.25x)", "52.00 (1.30x)"]]

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    blocks = {name: render() for name, render in report.record_blocks("train_speed").items()}
    assert list(blocks) == ["speed", "utilisation"]
    first, second = PRINTED.split("\n\n")
    assert first in blocks["speed"] and second in blocks["utilisation"]
    assert f"Command: `{COMMAND}` on {record['date']}. Machine: Fake CPU." in blocks["speed"]


def test_every_table_needs_a_name(tmp_path):
    with pytest.raises(ValueError, match="2 tables printed, 1 names"):
        speed_record.write_record(tmp_path / "x.json", PRINTED, ("speed",), COMMAND, "Fake CPU")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_path_writes_no_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    speed_record.write_record("", PRINTED, ("speed", "utilisation"), COMMAND, "Fake CPU")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_record_and_nothing_else(tmp_path, monkeypatch):
    path = tmp_path / "train_speed.json"
    path.write_text("the record before\n")
    write_text = Path.write_text

    def disk_full(self, text, *args, **kwargs):
        write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(Path, "write_text", disk_full)
        with pytest.raises(OSError, match="No space"):
            speed_record.write_record(path, PRINTED, ("speed", "utilisation"), COMMAND, "Fake CPU")
    assert path.read_text() == "the record before\n"
    assert list(tmp_path.iterdir()) == [path]
