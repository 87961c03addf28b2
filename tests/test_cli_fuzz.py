"""Hostile command lines for every command: whatever the arguments, the exit status is 0, 1 or 2,
no traceback is printed, and no file appears outside the paths the arguments named.

Each example runs the command in-process in a fresh working folder, with argument lists drawn
from the command's own flags and from values chosen to hurt: wrong types, negative and huge
numbers, NaN and infinity, empty strings, odd unicode, and paths that are missing, empty,
unreadable as images, or run through a file. Two things are stubbed so an example never
takes minutes or blocks: a valid `serve` stops at once (as after Ctrl-C), and Gatys
optimisation returns its input (optimize and evaluate still load, check and write everything).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from faststyle.commands import cli, stylize, train

EXAMPLES = int(os.environ.get("FASTSTYLE_FUZZ_EXAMPLES", "200"))  # per command; CI runs this default

# Where each command writes when no path names its output (documented defaults, not leftovers).
DEFAULT_OUTPUTS = {
    "evaluate": ("report",),
    "export": ("export",),
    "gallery": ("gallery.jpg",),
    "train": ("checkpoints", "runs", "export"),
}


def parser_of(command: str) -> argparse.ArgumentParser:
    if command == "stylize":
        return stylize.build_parser()
    if command == "train":
        return train.build_parser()
    module = __import__(f"faststyle.commands.{command}", fromlist=["build_parser"])
    return module.build_parser()  # type: ignore[no-any-return]


def runner(command: str) -> Callable[[list[str]], int]:
    if command == "stylize":
        return stylize.main
    if command == "train":
        return train.main
    return lambda argv: cli.main([command, *argv])


@pytest.fixture(scope="module")
def pool(tmp_path_factory, model_pth, model_onnx) -> dict[str, Path]:
    """Paths worth throwing at a command: one of each kind that can go wrong (and a few that can't)."""
    root = tmp_path_factory.mktemp("pool")
    Image.fromarray(np.full((20, 24, 3), 128, np.uint8)).save(root / "tiny.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "empty.png").write_bytes(b"")
    (root / "notes").mkdir()
    (root / "notes" / "a.txt").write_text("words")
    (root / "empty_dir").mkdir()
    (root / "a_file").write_text("x")
    (root / "model.pth").write_bytes(model_pth.read_bytes())
    (root / "model.onnx").write_bytes(model_onnx.read_bytes())
    (root / "fake.onnx").write_bytes(b"onnx? no")
    (root / "conf.yaml").write_text("image_size: [1, 2]\nnot_a_key: 3\n")
    (root / "photos" / "sub").mkdir(parents=True)
    Image.fromarray(np.full((18, 16, 3), 60, np.uint8)).save(root / "photos" / "sub" / "a.jpg")
    (root / "photos" / "sub" / "up").symlink_to("..")  # a loop a tree walk must not follow forever
    return {
        "image": root / "tiny.png",
        "broken": root / "broken.jpg",
        "empty": root / "empty.png",
        "texts": root / "notes",
        "empty_dir": root / "empty_dir",
        "through_file": root / "a_file" / "x.png",
        "missing": root / "missing.png",
        "pth": root / "model.pth",
        "onnx": root / "model.onnx",
        "fake_onnx": root / "fake.onnx",
        "yaml": root / "conf.yaml",
        "photos": root / "photos",
    }


def values(pool: dict[str, Path]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "",
                "0",
                "-1",
                "-5",
                "1e309",
                "nan",
                "inf",
                "-inf",
                "3.5",
                "99999999999",
                "abc",
                "🙂",
                "über",
                "a=0.5,b=0.5",
                "--",
                "-",
                "..",
                "/",
                "*.png",
                "[",
                "auto",
                "cuda:7",
                "cpu",
            ]
        ),
        st.sampled_from([str(p) for p in pool.values()]),
        st.integers(-(10**12), 10**12).map(str),
        st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12),
    )


def argvs(command: str, pool: dict[str, Path]) -> st.SearchStrategy[list[str]]:
    flags = [s for a in parser_of(command)._actions for s in a.option_strings if s not in ("-h", "--help")]
    pair = st.tuples(st.sampled_from(flags), values(pool)).map(list)
    lone = st.one_of(st.sampled_from(flags).map(lambda f: [f]), values(pool).map(lambda v: [v]))
    return st.lists(st.one_of(pair, lone), max_size=7).map(lambda parts: [a for p in parts for a in p])


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def named(argv: list[str], cwd: Path) -> set[Path]:
    """Every path an argument could name (a value with '=' or ',' may name one on either side)."""
    paths = set()
    for arg in argv:
        for piece in {arg, *arg.replace("=", ",").split(",")}:
            if piece and "\x00" not in piece:
                with contextlib.suppress(OSError, ValueError):
                    paths.add((cwd / piece).resolve())
    return paths


def beside_an_input(path: Path, argv_paths: set[Path]) -> bool:
    """stylize writes NAME_STYLE.ext beside each input NAME.ext (documented): such a file is named."""
    return any(path.parent == p.parent and path.name.startswith(p.stem + "_") for p in argv_paths)


@pytest.fixture()
def stubs(monkeypatch):
    from faststyle.quality import gatys as gatys_module
    from faststyle.web import server as serving

    def no_serving(self, *args, **kwargs):
        raise KeyboardInterrupt  # what Ctrl-C does to a running server

    def instant_gatys(loss_fn, content, steps=100, method="lbfgs", lr=None, progress=None):
        wanted = [steps] if isinstance(steps, int) else list(steps)
        return {s: content.detach().clone() for s in wanted}

    monkeypatch.setattr(serving.ThreadingHTTPServer, "serve_forever", no_serving)
    monkeypatch.setattr(gatys_module, "gatys", instant_gatys)
    import faststyle.commands.optimize  # noqa: F401  (imports gatys inside run(), after the patch)
    import faststyle.quality.evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "gatys", instant_gatys)


@pytest.mark.parametrize("command", ["stylize", "batch", "train", "export", "optimize", "evaluate", "gallery", "serve"])
def test_hostile_command_lines(command, pool, stubs, tmp_path, capsys, monkeypatch):
    run = runner(command)
    tmp_root = tmp_path / "tmp"
    tmp_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_root))
    counter = iter(range(10**9))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(argv=argvs(command, pool))
    def check(argv: list[str]) -> None:
        cwd = tmp_path / f"run{next(counter)}"
        cwd.mkdir()
        if command == "batch":  # `batch /` stylizes every image on the disk: what was asked, but for hours
            assume(not any(p in cwd.resolve().parents for p in named(argv, cwd)))
        monkeypatch.chdir(cwd)
        before_pool = files_under(pool["image"].parent)
        if os.environ.get("FASTSTYLE_FUZZ_LOG"):
            with open(os.environ["FASTSTYLE_FUZZ_LOG"], "a") as log:
                print(repr(argv), file=log, flush=True)
        code = run(argv)
        out = capsys.readouterr()
        assert code in (0, 1, 2), (argv, code, out.err[-500:])
        assert "Traceback" not in out.out + out.err, (argv, out.err[-2000:])
        argv_paths = named(argv, cwd)
        allowed = argv_paths | {(cwd / d).resolve() for d in DEFAULT_OUTPUTS.get(command, ())}
        new_in_pool = files_under(pool["image"].parent) - before_pool
        for path in files_under(cwd) | new_in_pool:
            resolved = path.resolve()
            ok = any(resolved == a or a in resolved.parents for a in allowed)
            assert ok or (command == "stylize" and beside_an_input(resolved, argv_paths)), (argv, path)
        assert not list(tmp_root.iterdir()), (argv, list(tmp_root.iterdir()))
        for path in sorted(new_in_pool, reverse=True):  # the next example starts from the same pool
            path.rmdir() if path.is_dir() else path.unlink()

    check()
