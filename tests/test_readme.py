"""The README's examples, and those of docs/runtimes.md, run as written; the embedding ones with torch
unimportable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Makes `import torch` (and the rest of the training stack) fail, as in a venv holding
# only onnxruntime, numpy and pillow.
BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchvision', 'lightning', 'datasets'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, _Block())
"""


OTHER_RUNTIMES = ("cv2", "openvino")
OPENCV4 = ROOT / ".venv" / "opencv" / "4.14.0.94"


def python_blocks(runtime: str = "onnxruntime") -> list[str]:
    """The Python examples of the README and docs/runtimes.md that run `runtime` (onnxruntime: the
    ones that name no other)."""
    text = (ROOT / "README.md").read_text() + (ROOT / "docs" / "runtimes.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "starry_night" in b]
    if runtime == "onnxruntime":
        return [b for b in blocks if not any(f"import {r}" in b for r in OTHER_RUNTIMES)]
    return [b for b in blocks if f"import {runtime}" in b]


@pytest.mark.parametrize("index", range(2))
def test_embedding_example_runs_without_torch(index, model_onnx, shared, tmp_path):
    blocks = python_blocks()
    assert len(blocks) == 2, "README should hold two Python embedding examples"
    (tmp_path / "export").mkdir()
    shutil.copy(model_onnx, tmp_path / "export" / "starry_night.onnx")
    shutil.copy(shared / "content" / "chicago.jpg", tmp_path / "photo.jpg")
    script = tmp_path / "example.py"
    script.write_text(BLOCK + blocks[index])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from PIL import Image

    with Image.open(tmp_path / "photo_starry.jpg") as out, Image.open(tmp_path / "photo.jpg") as photo:
        assert out.size == photo.size


def test_painting_example_runs_without_torch(shared, tmp_path):
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S) if "style_image" in b
    ]
    shutil.copy(shared / "styles" / "the_scream.jpg", tmp_path / "scream.jpg")
    shutil.copy(shared / "content" / "chicago.jpg", tmp_path / "photo.jpg")
    check = "\nassert np.array_equal(again, stylizer(photo)) and embedding.shape == (100,)\n"
    (tmp_path / "example.py").write_text(BLOCK + block + check)
    proc = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "photo_scream.jpg").is_file()


@pytest.mark.parametrize("runtime", OTHER_RUNTIMES)
def test_other_runtime_example_gives_the_runtimes_pixels(runtime, model_pth, model_onnx, shared, tmp_path):
    from faststyle.export.onnx_export import export_onnx
    from faststyle.image_io import load_rgb
    from faststyle.runtime import Stylizer

    (block,) = python_blocks(runtime)
    (tmp_path / "export").mkdir()
    shutil.copy(model_onnx, tmp_path / "export" / "starry_night.onnx")
    export_onnx(model_pth, tmp_path / "export" / "starry_night_net.onnx", layout="net")
    photo = load_rgb(shared / "content" / "chicago.jpg")[:203, :301]  # sizes that need padding
    from PIL import Image

    # PNG bytes under the README's name: both readers detect the format from the content, and a
    # lossless file keeps two JPEG decoders' differences out of the comparison
    Image.fromarray(photo).save(tmp_path / "photo.jpg", format="PNG")
    script = tmp_path / "example.py"
    script.write_text(block.replace("photo_starry.jpg", "photo_starry.png"))  # lossless, to compare
    env = dict(os.environ)
    if runtime == "cv2":  # OpenCV 4.x, the one that cannot load the pixels layout
        if not (OPENCV4 / "cv2").is_dir():
            if os.environ.get("CI", "").lower() not in ("", "0", "false"):
                pytest.fail(f"{OPENCV4} missing: `make other-runtimes` installs it")
            pytest.skip(f"{OPENCV4} missing: run `make other-runtimes`")
        env["PYTHONPATH"] = str(OPENCV4)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = Stylizer(model_onnx, backend="ort", precision="fp32")(load_rgb(tmp_path / "photo.jpg"))
    assert np.abs(load_rgb(tmp_path / "photo_starry.png").astype(int) - expected).max() <= 1


# --- every command line of the README ---------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """Each command of the README's bash blocks as an argument list: continuation lines joined,
    comments dropped, `a && b` split, and `...` standing for the arguments of the program's
    previous command (`faststyle evaluate ... --size 512 1024`)."""
    import shlex

    commands: list[list[str]] = []
    previous: dict[tuple[str, ...], list[str]] = {}
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                command, words = words[:cut], words[cut + 1 :]
                program = tuple(command[:2]) if command[0] in ("faststyle", "python") else (command[0],)
                if "..." in command:
                    i = command.index("...")
                    command = command[:i] + previous[program][i:] + command[i + 1 :]
                else:
                    previous[program] = command
                commands.append(command)
    return commands


def parses(build_parser, args: list[str]) -> None:
    """The command's own parser accepts `args` (argparse exits on a flag that does not exist)."""
    try:
        build_parser().parse_args(args)
    except SystemExit as e:
        raise AssertionError(f"{' '.join(args)}: refused by the command's parser (exit {e.code})") from None


@pytest.fixture(scope="module")
def workspace(shared, tmp_path_factory) -> Path:
    """Small stand-ins for the files the README's stylize lines name."""
    from PIL import Image

    from faststyle.image_io import fit_rgb, load_rgb
    from faststyle.model_files import resolve_model
    from tests.conftest import make_clip

    root = tmp_path_factory.mktemp("readme")
    photo = Image.fromarray(fit_rgb(load_rgb(shared / "content" / "chicago.jpg"), max_size=96))
    for name in ("photo.jpg", "big.jpg", "photos/a.jpg", "photos/b.png", "holiday/beach.png"):
        (root / name).parent.mkdir(exist_ok=True)
        photo.save(root / name)
    shutil.copy(shared / "styles" / "the_scream.jpg", root / "scream.jpg")
    photo.save(root / "cat.gif", save_all=True, append_images=[photo.rotate(180)], duration=100, loop=0)
    make_clip(root / "clip.mp4", frames=3)
    (root / "export").mkdir()
    shutil.copy(resolve_model("wave"), root / "export" / "wave.onnx")
    return root


def test_every_readme_command_runs_or_parses(workspace, tmp_path, monkeypatch):
    # stylize and local batch lines run for real on small stand-ins; the rest (hours of training,
    # servers, GPUs, Hub datasets) are checked by their own parsers, and what they name must exist.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from faststyle.commands import batch, evaluate, gallery, optimize, serve, stylize, train

    parsers = {"batch": batch, "evaluate": evaluate, "gallery": gallery, "optimize": optimize, "serve": serve}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    makefile = (ROOT / "Makefile").read_text()
    commands = readme_commands()
    assert len(commands) > 30
    ran = 0
    for i, command in enumerate(commands):
        program, args = command[0], command[1:]
        if program == "make":
            assert re.search(rf"^{args[0]}:", makefile, re.M), f"make {args[0]}: no such target"
        elif program == "pip":
            (spec,) = [a for a in args if a.startswith(project["name"])] or [""]
            assert spec, f"{command}: installs something other than {project['name']}"
            extra = re.findall(r"\[(\w+)\]", spec)
            assert all(e in project["optional-dependencies"] for e in extra), f"{spec}: no such extra"
        elif program == "source":
            assert args == [".venv/bin/activate"]
        elif program == "npm":
            assert (ROOT / args[args.index("--prefix") + 1] / "package-lock.json").is_file()
        elif program in ("python", "torchrun", "srun"):
            script = command.index("train.py") if "train.py" in command else command.index("python") + 1
            if command[script] == "train.py":
                parses(train.build_parser, command[script + 1 :])
            else:
                assert (ROOT / command[script]).is_file(), f"{command[script]}: no such script"
        elif program == "stylize" or (
            program == "faststyle" and args[0] == "batch" and "--engine" not in args and "--dataset" not in args
        ):
            work = tmp_path / str(i)
            shutil.copytree(workspace, work)
            monkeypatch.chdir(work)
            main = stylize.main if program == "stylize" else batch.main
            assert main(args if program == "stylize" else args[1:]) == 0, command
            ran += 1
        elif program == "faststyle":
            parses(parsers[args[0]].build_parser, args[1:])
        else:
            raise AssertionError(f"README command {' '.join(command)}: no check for {program}; add one")
    assert ran >= 14
