"""What a robustness probe found (issue 49): symlink loops among the inputs, `serve` under 200
parallel requests and clients that leave mid-answer, animated GIFs in `batch`, the frame timing
of animations, and the memory a huge photo costs at --max-size."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from conftest import photo_array
from PIL import Image, ImageDraw, ImageSequence

import faststyle
from faststyle.commands.cli import main as cli_main
from faststyle.commands.gallery import main as gallery_main
from faststyle.commands.stylize import main as stylize_main
from faststyle.image_io import fit_size, load_rgb, resize_rgb
from faststyle.web import server as serving

TINY = Path(faststyle.__file__).parent / "models" / "starry_night_tiny.onnx"
ENGINE = ["--backend", "ort", "--precision", "fp32"]  # no engine measuring: the same pixels everywhere


def save_photo(path: Path, w: int = 48, h: int = 32, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo_array(w, h, seed)).save(path)
    return path


def link(path: Path, target: str) -> Path:
    """`ln -s target path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.symlink_to(target)
    except OSError:  # e.g. Windows without the symlink privilege
        pytest.skip("cannot make symbolic links here")
    return path


def names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- symlink loops among the inputs ----------------------------------------------------------


def test_stylize_names_a_symlink_loop_and_stylizes_the_rest(tmp_path, capsys):
    """`ln -s loop.jpg loop.jpg` beside a good photo was a traceback, and the photo was not done."""
    loop = link(tmp_path / "loop.jpg", "loop.jpg")
    good = save_photo(tmp_path / "good.png")
    folder = tmp_path / "more"
    save_photo(folder / "also.png", seed=1)
    inner = link(folder / "round.jpg", "round.jpg")
    link(folder / "up", "..")  # a folder link to its parent: a subfolder, not scanned
    out = tmp_path / "out"
    rc = stylize_main([str(loop), str(good), str(folder), "-m", str(TINY), *ENGINE, "-o", str(out), "-q"])
    err = capsys.readouterr().err
    # named on the command line, a loop is a failed input, as an unreadable file is (exit 1);
    # met in a folder, it is not a photo the folder was scanned for: a warning only
    assert rc == 1 and "Traceback" not in err
    assert sorted(err.splitlines()) == [
        f"error: {loop}: symlink loop: skipped (the link leads back to where it is)",
        f"warning: {inner}: symlink loop: skipped (the link leads back to where it is)",
    ]
    assert names(out) == ["also_starry_night.jpg", "good_starry_night.jpg"]
    rc = stylize_main([str(folder), "-m", str(TINY), *ENGINE, "-o", str(tmp_path / "again"), "-q"])
    err = capsys.readouterr().err
    assert rc == 0 and err.splitlines() == [
        f"warning: {inner}: symlink loop: skipped (the link leads back to where it is)"
    ]
    assert names(tmp_path / "again") == ["also_starry_night.jpg"]


def test_gallery_leaves_out_a_symlink_loop_and_draws_the_rest(tmp_path, capsys):
    loop = link(tmp_path / "loop.png", "loop.png")
    good = save_photo(tmp_path / "photos" / "good.png")
    inner = link(tmp_path / "photos" / "round.png", "round.png")
    grid = tmp_path / "grid.png"
    rc = gallery_main(["--content", str(loop), str(good.parent), "-m", str(TINY), "--size", "32", "-o", str(grid)])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err and f"wrote {grid} without 1 photo(s)" in out
    assert f"error: {loop}: symlink loop: skipped" in err and f"warning: {inner}: symlink loop: skipped" in err
    assert load_rgb(grid).shape[1] > 2 * 32  # the good photo's row: it and its stylization


def test_batch_says_which_links_loop_and_stylizes_the_rest(tmp_path, capsys):
    """Inside a batch tree, loops were skipped without a word."""
    root = tmp_path / "photos"
    save_photo(root / "a.png")
    save_photo(root / "trips" / "b.png", seed=1)
    loops = [
        link(root / "self.jpg", "self.jpg"),
        link(root / "trips" / "up", ".."),  # a folder link back up the tree
        link(root / "x", "y"),
        link(root / "y", "x"),
    ]
    out = tmp_path / "out"
    assert cli_main(["batch", str(root), str(out), "-m", str(TINY), *ENGINE, "--workers", "1", "-q"]) == 0
    captured = capsys.readouterr()
    assert "2 written, 0 already there, 0 failed" in captured.out and "Traceback" not in captured.err
    warned = sorted(line for line in captured.err.splitlines() if line.startswith("warning: "))
    assert warned == sorted(f"warning: {p}: symlink loop: skipped (the link leads back to where it is)" for p in loops)
    assert names(out) == ["a.png", "trips/b.png"]


# --- serve: many clients, and clients that leave ------------------------------------------------


@pytest.fixture()
def site_server(tmp_path) -> Iterator[tuple[serving.ThreadingHTTPServer, str, Path]]:
    """`serve`'s HTTP server on a free port, serving a small page and a 16 MB file, in a thread."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>faststyle</title>" + "<p>page</p>" * 200)
    (site / "big.bin").write_bytes(b"\0" * (16 << 20))
    server = serving.make_server(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/", site
    server.shutdown()
    server.server_close()


def test_serve_answers_200_parallel_requests(site_server):
    """With Python's listen backlog of 5, 50-110 of 200 requests got no answer in 10 s."""
    _, url, site = site_server
    start = threading.Barrier(200)  # all at once, as 200 browsers opening the page together

    def get(_: int) -> str:
        start.wait()
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return "ok" if r.read() == (site / "index.html").read_bytes() else "wrong page"
        except OSError as e:
            return type(e).__name__

    with ThreadPoolExecutor(200) as pool:
        results = list(pool.map(get, range(200)))
    assert results == ["ok"] * 200, {r: results.count(r) for r in set(results)}


def test_serve_prints_nothing_when_a_client_leaves_mid_answer(site_server, capfd):
    """A reload or a closed tab printed a BrokenPipeError or ConnectionResetError traceback."""
    server, _, _ = site_server
    before = set(threading.enumerate())
    for reset in (False, True):  # closed (its unread answer makes that a reset too), and reset outright
        client = socket.create_connection(server.server_address, timeout=10)
        if reset:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert client.recv(100).startswith(b"HTTP/1.0 200")
        client.close()
    deadline = time.monotonic() + 20  # until the handlers have met the closed connections
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(threading.enumerate()) - before, "the server is still writing to a closed connection"
    assert capfd.readouterr().err == ""


# --- animations: batch keeps every frame, and the timing is the source's ------------------------


def save_animation(path: Path, durations: list[int], loop: int | None = 0) -> Path:
    """Random 32x24 frames, one per duration (ms); loop None: a GIF that plays once."""
    rng = np.random.default_rng(len(durations))
    frames = [Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)) for _ in durations]
    extra = {} if loop is None else {"loop": loop}
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, **extra)
    return path


def timing(path: Path) -> tuple[list[float], int | None]:
    """(each frame's delay in ms, the loop count or None) as a player reads them; a GIF frame
    without a delay is a 0 ms one."""
    with Image.open(path) as img:
        delays = []
        for frame in ImageSequence.Iterator(img):
            frame.load()  # a WebP frame's duration is known once it is decoded
            delays.append(frame.info.get("duration", 0))
        return delays, img.info.get("loop")


def frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as img:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(img)]


def test_batch_stylizes_every_frame_of_an_animated_gif_as_stylize_does(tmp_path, capsys):
    """An animated GIF became a one-frame PNG."""
    root = tmp_path / "photos"
    anim = save_animation(root / "cat.gif", [40, 0, 80, 0])
    Image.fromarray(photo_array(32, 24)).save(root / "still.gif")  # one frame: a still, written as PNG
    save_photo(root / "x.png")
    out = tmp_path / "out"
    assert cli_main(["batch", str(root), str(out), "-m", str(TINY), *ENGINE, "--workers", "1", "-q"]) == 0
    assert "3 written" in capsys.readouterr().out
    assert names(out) == ["cat.gif", "still.png", "x.png"]
    assert stylize_main([str(anim), "-m", str(TINY), *ENGINE, "-o", str(tmp_path / "cat_stylized.gif"), "-q"]) == 0
    by_stylize = frames(tmp_path / "cat_stylized.gif")
    assert len(by_stylize) == 4
    assert all(np.array_equal(a, b) for a, b in zip(frames(out / "cat.gif"), by_stylize, strict=True))
    assert timing(out / "cat.gif") == timing(anim) == ([40, 0, 80, 0], 0)


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_stylize_keeps_an_animations_frame_delays_and_looping(tmp_path, capsys, suffix):
    """0 ms delays became 100 ms, and a GIF that plays once was made to loop forever."""
    src = save_animation(tmp_path / "blink.gif", [0, 0, 50, 0], loop=None)
    assert timing(src) == ([0, 0, 50, 0], None)
    out = tmp_path / f"out{suffix}"
    assert stylize_main([str(src), "-m", str(TINY), *ENGINE, "-o", str(out), "-q"]) == 0
    delays, loop = timing(out)
    assert delays == [0, 0, 50, 0]
    # a GIF plays once without the looping extension; WebP and APNG count plays, 0 for ever
    assert loop == (None if suffix == ".gif" else 1)


# --- a huge photo at --max-size ----------------------------------------------------------------

# The growth of this process's peak memory (VmHWM: getrusage's ru_maxrss would start at the
# forking pytest's, which is larger) while one photo is stylized at --max-size 256.
PEAK = """
import re, sys
from faststyle.inference.pipeline import Options, stylize_path
def peak():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) * 1024
before = peak()
stylize_path(lambda image: image, sys.argv[1], sys.argv[2], Options(max_size=256))
print(peak() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc/self/status")
@pytest.mark.parametrize(("suffix", "most"), [(".png", 2.0), (".jpg", 0.5)])
def test_a_huge_photo_at_max_size_costs_at_most_one_decoded_picture(tmp_path, suffix, most):
    """A 0.4 MB 12000x12000 PNG took 2.6 GB at --max-size 256: copy upon full-size copy. Now a
    PNG costs its one decoded picture (Pillow holds RGB in 4 bytes a pixel: measured 1.5x the
    RGB bytes), and a JPEG is decoded at 1/8 scale (0.27x); both 6.0x before. Here 6000x4000."""
    picture = Image.new("RGB", (6000, 4000), (200, 180, 120))
    draw = ImageDraw.Draw(picture)
    for x in range(0, 6000, 500):
        draw.ellipse((x, x // 3, x + 1500, x // 3 + 1000), fill=(x % 255, 90, 60))
    src = tmp_path / f"huge{suffix}"
    picture.save(src, **({"compress_level": 1} if suffix == ".png" else {"quality": 85}))
    del picture, draw
    out = tmp_path / "small.png"
    done = subprocess.run([sys.executable, "-c", PEAK, str(src), str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    decoded = 6000 * 4000 * 3
    assert int(done.stdout) < most * decoded, f"peak grew by {int(done.stdout) / decoded:.2f}x the decoded picture"
    with Image.open(out) as small:
        assert small.size == (256, 171)


def test_a_photo_reduced_while_decoding_is_upright_and_looks_the_same(tmp_path):
    """The reduced decode turns an EXIF-rotated photo as the full one does, at the size asked."""
    stored = photo_array(400, 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: 200 wide, 400 tall
    src = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(src, exif=exif, quality=95)
    full = load_rgb(src)
    assert full.shape == (400, 200, 3)
    small = load_rgb(src, size=partial(fit_size, max_size=50))  # decoded at half scale (JPEG draft)
    assert small.shape == (50, 25, 3)
    assert np.abs(small.astype(int) - resize_rgb(full, (50, 25))).mean() < 2


def test_batch_refuses_an_empty_path_and_passes_by_what_it_may_not_read(tmp_path, monkeypatch, capsys):
    """`batch / ''` walked the whole disk into a PermissionError traceback (found by the fuzz test)."""
    from pathlib import Path

    from faststyle.commands.cli import main as faststyle_main
    from faststyle.inference.batch import Source, plan

    assert faststyle_main(["batch", str(tmp_path), ""]) == 2
    assert "an empty path" in capsys.readouterr().err
    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "in" / "a.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "in" / "secret.png")
    real_is_file = Path.is_file

    def is_file(self):
        if self.name == "secret.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file)
    items = plan(Source(str(tmp_path / "in")), tmp_path / "out")
    assert [i.key for i in items] == ["a.png"]
    assert "1 entries below" in capsys.readouterr().err
