"""Checks for the numbers a user gives, worded for people: shared by command-line flags
(as argparse types) and config files (called on the YAML value), so both say the same thing."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path


def _number(kind: type[int] | type[float], text: str | float) -> float:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        word = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{str(text)!r}: expected {word}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text}: expected a finite number")
    return value


def at_least(low: float, kind: type[int] | type[float] = int) -> Callable[[str | float], float]:
    """A checker for numbers >= low (int or float)."""

    def check(text: str | float) -> float:
        value = _number(kind, text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text}: must be at least {low}")
        return value

    check.__name__ = f"number >= {low}"
    return check


def above(low: float) -> Callable[[str | float], float]:
    """A checker for floats > low."""

    def check(text: str | float) -> float:
        value = _number(float, text)
        if not value > low:
            raise argparse.ArgumentTypeError(f"{text}: must be greater than {low}")
        return value

    check.__name__ = f"number > {low}"
    return check


def between(low: float, high: float) -> Callable[[str | float], float]:
    """A checker for floats in [low, high]."""
    return in_range(low, high, float)


def in_range(low: float, high: float, kind: type[int] | type[float] = int) -> Callable[[str | float], float]:
    """A checker for numbers in [low, high]: the upper end keeps an absurd value (99999999999
    photos a step, a seed past 2^32) a one-line error instead of an overflow deep in a library."""

    def check(text: str | float) -> float:
        value = _number(kind, text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text}: must be between {low:g} and {high:g}")
        return value

    check.__name__ = f"number in [{low}, {high}]"
    return check


def device_list(text: str | float) -> str:
    """A --devices value: auto, -1 (all), a count >= 1, or a list of device indices like 0,1."""
    value = str(text).strip()
    if value in ("auto", "-1") or re.fullmatch(r"[1-9]\d{0,3}", value) or re.fullmatch(r"\d{1,4}(,\d{1,4})+,?", value):
        return value
    raise argparse.ArgumentTypeError(f"{text}: expected a count of at least 1, -1 or auto for all, or a list like 0,1")


device_list.__name__ = "devices"

positive_int = at_least(1)
non_negative_int = at_least(0)
non_negative_float = at_least(0.0, float)
positive_float = above(0.0)
unit_float = between(0.0, 1.0)


def _name_and(text: str | float, check: Callable[[str | float], object], form: str) -> str:
    """A NAME=VALUE pair with VALUE passing `check`, as "name=value"; errors name the whole pair."""
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text}: expected {form}")
    try:
        return f"{name.strip()}={check(value.strip())}"
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{text}: {str(e).split(': ', 1)[-1]}") from None


def name_and_weight(text: str | float) -> str:
    """A NAME=W pair (a style's name and its own --style-weight): W a finite number >= 0."""
    return _name_and(text, non_negative_float, "NAME=WEIGHT, e.g. candy=5")


name_and_weight.__name__ = "NAME=WEIGHT"


def name_and_weights(text: str | float) -> str:
    """A NAME=W,W,... pair (a style's name and its own style layer weights): each W a finite number >= 0."""
    return _name_and(text, _weight_list, "NAME=W,W,W,W, e.g. mosaic=0.5,2,0.5,0.25")


def _weight_list(text: str | float) -> str:
    return ",".join(str(non_negative_float(w.strip())) for w in str(text).split(","))


name_and_weights.__name__ = "NAME=W,W,W,W"


def name_and_count(text: str | float) -> str:
    """A NAME=N pair (a style's name and how many draws of each round it gets): N a whole number >= 1."""
    return _name_and(text, positive_int, "NAME=N, e.g. mosaic=4")


name_and_count.__name__ = "NAME=N"


def given_path(text: str) -> str:
    """A path argument that names something: an empty one would silently mean the current folder."""
    if not str(text).strip():
        raise argparse.ArgumentTypeError("an empty path; name a file or folder")
    return str(text)


given_path.__name__ = "path"


def user_path(text: str | os.PathLike[str]) -> Path:
    """A path as the user typed it, with ~ expanded where that names a home folder ("~0", a user
    that does not exist, stays as it is instead of raising)."""
    path = Path(text)
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def thread_count(text: str | float) -> int:
    """A --threads value: from 1 to this machine's core count (more only makes the runtimes slower,
    and a huge count makes them try to start that many threads)."""
    cores = os.cpu_count() or 1
    value = int(at_least(1)(text))
    if value > cores:
        raise argparse.ArgumentTypeError(f"{text}: this machine has {cores} cores; use at most {cores}")
    return value
