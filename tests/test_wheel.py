"""Installed as a wheel, outside the checkout, faststyle works: bundled models and the page ship inside it.

The wheel is built from the repo, installed with --no-deps into a fresh virtual environment
in a temp folder, and its dependencies (onnxruntime, numpy, pillow, ...) are lent from the
test environment through a .pth line (which does not carry this checkout's editable install).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "src" / "faststyle" / "web" / "node_modules" / "onnxruntime-web" / "dist"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with only the built wheel installed; returns its bin/ folder."""
    if not WEB.is_dir():
        pytest.skip("onnxruntime-web is not installed (make web-setup); the wheel would carry no page runtime")
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("*.whl")
    import faststyle

    # published as faststyle-transfer ("faststyle" on the index is another project), version from the package
    assert wheel.name.startswith(f"faststyle_transfer-{faststyle.__version__}-"), wheel.name
    env = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    bin_dir = env / "bin"
    site = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import faststyle; print(faststyle.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp,
        check=True,
    ).stdout.strip()
    assert where.startswith(site), f"faststyle imported from {where}, not from the wheel"
    return bin_dir


def test_wheel_stylizes_with_the_bundled_model_outside_the_checkout(installed, tmp_path):
    Image.new("RGB", (96, 64), (200, 120, 40)).save(tmp_path / "photo.jpg")
    listing = subprocess.run([str(installed / "stylize"), "--list"], capture_output=True, text=True, cwd=tmp_path)
    assert "starry_night" in listing.stdout and "wave" in listing.stdout
    proc = subprocess.run(
        [str(installed / "stylize"), "photo.jpg"], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "photo_starry_night.jpg").size == (96, 64)


def test_wheel_serves_the_page_and_its_runtime(installed, tmp_path):
    proc = subprocess.Popen(
        [str(installed / "faststyle"), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "http://" in line, proc.stderr.read() if proc.stderr else line
        url = line[line.index("http://") :].split()[0]
        with urllib.request.urlopen(url + "index.html", timeout=30) as r:
            assert b"<html" in r.read().lower()
        with urllib.request.urlopen(url + "models.json", timeout=30) as r:
            assert {m["name"] for m in json.load(r)} >= {"starry_night", "wave"}
        with urllib.request.urlopen(url + "ort/ort-wasm-simd-threaded.wasm", timeout=30) as r:
            assert r.headers["Content-Type"] == "application/wasm" and len(r.read()) > 1_000_000
    finally:
        proc.terminate()
        proc.wait(timeout=30)
