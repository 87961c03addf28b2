"""The web page's speed in headless Chromium (onnxruntime-web, WebAssembly) against Python.

    python bench/web_speed.py [--archs tiny,slim] [--threads 1,2] [--seconds 5]

For each net width (randomly initialised: speed does not depend on the weights) and WASM thread
count: the camera mode's frame rate at 320x240 and 640x480 (a fake camera), and a still
712x474 photo's time in the page against faststyle.runtime (ONNX Runtime fp32) in Python.
Needs what the browser tests need (make web-setup: Chromium, chromedriver, onnxruntime-web).
Writes the table, with the command, machine and date, to bench/results/web_speed.json (--record;
bench/speed_record.py).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_record import Printed, add_record_option, command_line, this_machine, write_record  # bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1100,760"):
        options.add_argument(arg)
    options.add_argument("--use-fake-device-for-media-stream")
    options.add_argument("--use-fake-ui-for-media-stream")
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def camera_fps(driver, size: str, seconds: float) -> float:
    driver.execute_script(
        "document.body.dataset.frames = 0; document.getElementById('camera-size').value = arguments[0];"
        "document.getElementById('camera').click()",
        size,
    )
    deadline = time.monotonic() + 120
    while int(driver.execute_script("return document.body.dataset.frames || 0")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    start, first = time.monotonic(), int(driver.execute_script("return document.body.dataset.frames"))
    time.sleep(seconds)
    frames = int(driver.execute_script("return document.body.dataset.frames")) - first
    elapsed = time.monotonic() - start
    driver.execute_script("document.getElementById('camera').click()")
    from test_web import wait_for_state

    wait_for_state(driver, ("idle", "error"))
    return frames / elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default="tiny,slim")
    p.add_argument("--threads", default="1,2", help="onnxruntime-web WASM thread counts to compare")
    p.add_argument("--seconds", type=float, default=5.0, help="frames are counted over this long")
    add_record_option(p, "web_speed")
    args = p.parse_args(argv)
    import torch
    from test_web import choose_file, open_page, start_server, stop_server

    from faststyle.cpu import cpu_summary
    from faststyle.export.onnx_export import export_onnx
    from faststyle.model.checkpoint import save_model
    from faststyle.model.transform_net import TransformNet
    from faststyle.runtime import Stylizer
    from faststyle.timing import median_ms

    show = Printed()
    show(f"{cpu_summary()}; headless Chromium, onnxruntime-web WASM; Python: ONNX Runtime fp32, same threads")
    show("| width | threads | camera 320x240 frames/s | camera 640x480 frames/s | photo 712x474 page ms | Python ms |")
    show("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="faststyle-web-bench-") as tmp_name:
        tmp = Path(tmp_name)
        photo = Image.open(ROOT.parent / "shared" / "content" / "chicago.jpg").convert("RGB").resize((712, 474))
        for i in range(3):  # a new file each time: choosing the same one again fires no change
            photo.save(tmp / f"photo{i}.png")
        for arch in args.archs.split(","):
            torch.manual_seed(0)
            models = tmp / arch
            models.mkdir()
            pth = save_model(TransformNet(arch), tmp / f"{arch}.pth", arch, {"arch": arch})
            onnx_path = export_onnx(pth, models / f"{arch}.onnx")
            proc, url = start_server(models)
            driver = None
            try:
                driver = browser()
                for threads in [int(t) for t in args.threads.split(",")]:
                    open_page(driver, f"{url}?threads={threads}", 1024)
                    fps = [camera_fps(driver, size, args.seconds) for size in ("320x240", "640x480")]
                    times = []
                    for i in range(3):  # a fresh state each time, so the wait is for this photo's run
                        driver.execute_script("document.body.dataset.state = ''")
                        choose_file(driver, tmp / f"photo{i}.png")
                        times.append(float(driver.execute_script("return document.body.dataset.ms || 0")))
                    python = Stylizer(onnx_path, threads=threads, backend="ort", precision="fp32")
                    pixels = np.asarray(photo)
                    py_ms = median_ms(lambda: python(pixels), 5)
                    show(f"| {arch} | {threads} | {fps[0]:.1f} | {fps[1]:.1f} | {np.median(times):.0f} | {py_ms:.0f} |")
            finally:
                if driver is not None:
                    driver.quit()
                try:
                    stop_server(proc)
                except subprocess.TimeoutExpired:  # a server slow to take Ctrl-C is not a result
                    proc.kill()
                shutil.rmtree(models, ignore_errors=True)
    write_record(args.record, show.text(), ("frame-rates",), command_line("web_speed", argv), this_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
