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
