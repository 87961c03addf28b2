"""Fuzzing the image loader: whatever the bytes, a one-line ImageError or a valid image."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from faststyle.errors import ImageError
from faststyle.image_io import decode_rgb_bytes, load_rgb


def encoded(fmt: str, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


SEEDS = [encoded("PNG"), encoded("JPEG"), encoded("GIF", "P"), encoded("BMP"), encoded("WEBP"), encoded("TIFF")]


def check(result_or_error) -> None:
    if isinstance(result_or_error, np.ndarray):
        assert result_or_error.dtype == np.uint8 and result_or_error.ndim == 3 and result_or_error.shape[2] == 3


def load_path(tmp_path, data: bytes):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        return load_rgb(path)
    except ImageError as e:
        assert "\n" not in str(e) and str(path) in str(e)
        return e


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(tmp_path, data):
    check(load_path(tmp_path, data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000),
)
def test_mutated_real_images_never_crash(tmp_path, seed, flips, cut):
    data = bytearray(seed)
    for pos, value in flips:  # corrupt a few bytes, headers included
        data[pos % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])  # and maybe truncate
    check(load_path(tmp_path, data))
    with contextlib.suppress(ImageError):
        check(decode_rgb_bytes(data))


@pytest.mark.parametrize("data", SEEDS)
def test_the_unmutated_seeds_load(tmp_path, data):
    assert isinstance(load_path(tmp_path, data), np.ndarray)


def test_decompression_bomb_is_refused(tmp_path):
    # A 30000 x 30000 PNG header (900 Mpx) over a tiny body: refused before decoding.
    img = Image.new("1", (30000, 30000))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    path = tmp_path / "bomb.png"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ImageError, match=r"Mpx|too large"):
        load_rgb(path)


# --- the Stylizer call: whatever a program hands it, pixels of the same shape or one UserError line ---

ARRAYS = st.one_of(
    st.tuples(
        st.sampled_from([np.uint8, np.float32, np.int64, np.bool_]),
        st.lists(st.integers(0, 40), min_size=0, max_size=5),
    ),
    st.tuples(st.just(np.uint8), st.sampled_from([[0, 20, 24, 3], [2, 20, 24, 3], [20, 24, 3], [1, 1, 1, 3]])),
)
WEIGHTS = st.one_of(
    st.none(),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=5),
    st.sampled_from(["a", "a=1", [[1.0, 0.0, 0.0]], {"a": 1}, [True, False, False], 3.0]),
)


@pytest.mark.parametrize("backend", ["ort", "openvino"])
def test_the_stylizer_call_checks_what_it_is_given(backend, multi_onnx):
    from faststyle.errors import UserError
    from faststyle.runtime import Stylizer

    stylizer = Stylizer(multi_onnx, backend=backend, precision="fp32", threads=1)

    def usable(weights) -> bool:  # what the docs promise works: None, or 3 finite numbers >= 0, not all 0
        if weights is None:
            return True
        if not isinstance(weights, list) or len(weights) != 3 or not all(isinstance(w, (int, float)) for w in weights):
            return False
        return all(0 <= w < float("inf") for w in weights) and 0 < sum(weights) < float("inf")

    @settings(max_examples=80, deadline=None, derandomize=True, database=None)
    @given(array=ARRAYS, weights=WEIGHTS, seed=st.integers(0, 255))
    def check(array, weights, seed):
        dtype, shape = array
        if np.prod(shape, dtype=np.int64) > 200_000:
            shape = shape[:2]
        image = np.full(shape, seed).astype(dtype)
        try:
            out = stylizer(image, weights)
        except UserError as e:
            assert "\n" not in str(e) and str(e)
            return
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert usable(weights), f"weights {weights!r} were taken without a word"

    check()
