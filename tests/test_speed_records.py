"""Each machine's speed page in bench/results is the rendering of its JSON record, and bench/run.py
writes both from what it measured (here a fake measurement: no benchmark runs)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "bench"))

import report  # noqa: E402  (bench/ is not a package)
import run  # noqa: E402
import speed_record  # noqa: E402

SPEED_RECORDS = report.speed_records()


def test_the_machines_have_records():
    assert {"amd-epyc-avx512-bf16", "intel-r-xeon-r-processor-amx-bf16", "nvidia-h200"} <= set(SPEED_RECORDS)


@pytest.mark.parametrize("slug", SPEED_RECORDS)
def test_each_page_is_its_records_rendering(slug):
    # A figure typed into bench/results/<slug>.md by hand, or a record changed without its page.
    record = json.loads((RESULTS / f"{slug}.json").read_text())
    assert speed_record.doc(record) == (RESULTS / f"{slug}.md").read_text()
    assert record["command"] and record["machine"]
    assert f"bench/results/{slug}.md" in report.PAGES


def test_a_hand_edited_cell_is_caught():
    record = json.loads((RESULTS / "amd-epyc-avx512-bf16.json").read_text())
    page = (RESULTS / "amd-epyc-avx512-bf16.md").read_text()
    edited = page.replace("| ort fp32 | 52 (1.00x) |", "| ort fp32 | 50 (1.00x) |", 1)
    assert edited != page
    assert speed_record.doc(record) != edited


TRAIN_SPEED_OUTPUT = """\
Fake CPU; torch 2.x, 2 threads; arch={arch} batch=4; images/s (median of 1 steps after a warm-up)
(malloc: freed memory kept)
| size | plain loop fp32 | faststyle fp32, malloc default | faststyle fp32 | faststyle bf16 |
|---|---|---|---|---|
| 128 | 4.00 | 5.00 (1.25x) | 5.20 (1.30x) | 8.40 (2.10x) |
| 256 | 1.00 | 1.20 (1.20x) | 1.30 (1.30x) | 2.10 (2.10x) |
"""


def test_a_fake_run_writes_a_record_and_its_page(tmp_path, monkeypatch):
    def fake_inference(model, sizes, runs, threads, tmp):
        rows = [
            run.inference_row("ort fp32", [10.0 * s for s in sizes], [10.0 * s for s in sizes], (0, 0, 99), True,
                              [100.0] * len(sizes), "50%"),
            run.inference_row("openvino bf16 **(auto)**", [4.0 * s for s in sizes], [10.0 * s for s in sizes],
                              (0.25, 7, 54.2), True, [120.0] * len(sizes), "60%"),
        ]  # fmt: skip
        return {"heading": [f"model: fake; {threads} threads"], "columns": run.inference_columns(sizes), "rows": rows}

    fake_train_speed = types.ModuleType("train_speed")
    fake_train_speed.main = lambda argv: print(TRAIN_SPEED_OUTPUT.format(arch=argv[argv.index("--arch") + 1]))
    monkeypatch.setattr(run, "inference_table", fake_inference)
    monkeypatch.setitem(sys.modules, "train_speed", fake_train_speed)
    # main sets both; monkeypatch puts back what they were
    monkeypatch.setenv("FASTSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTSTYLE_VGG_WEIGHTS", str(tmp_path / "vgg.pth"))
    argv = ["--sizes", "64", "128", "--runs", "1", "--threads", str(torch.get_num_threads()), "-o", str(tmp_path)]
    assert run.main(argv) == 0

    (written,) = tmp_path.glob("*.json")
    record = json.loads(written.read_text())
    assert (tmp_path / f"{written.stem}.md").read_text() == speed_record.doc(record)
    assert record["format"] == speed_record.FORMAT
    assert record["command"] == "python bench/run.py " + " ".join(argv)
    table = record["inference"]
    assert table["columns"] == [
        "path", "64 px ms", "128 px ms", "correct (mean/max levels, PSNR)", "peak MB 64", "peak MB 128",
        "% of peak at 128",
    ]  # fmt: skip
    assert table["rows"][1] == [
        "openvino bf16 **(auto)**", "256 (2.50x)", "512 (2.50x)", "yes (0.25/7, 54 dB)", "120", "120", "60%"
    ]  # fmt: skip
    page = speed_record.doc(record)
    assert speed_record.row(table["columns"]) + "\n|---|---|---|---|---|---|---|\n" in page
    assert [t["arch"] for t in record["training"]["tables"]] == ["slim", "johnson"]
    for t in record["training"]["tables"]:
        assert t["columns"][:2] == ["size", "plain loop fp32"]
        assert all(len(r) == len(t["columns"]) for r in t["rows"])
        assert f"\n\n{t['arch']} net:\n\n| size | plain loop fp32 |" in page
