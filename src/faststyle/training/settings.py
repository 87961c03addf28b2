"""How a training setting is declared: a dataclass field that carries its flag, help, check,
YAML key and --resume rule (faststyle.training.config declares the settings with it;
faststyle.training.config_sources turns the declarations into flags and reads them back).

The --resume rules:

    RUN     the setting defines the run: a resumed run takes it from the checkpoint, and a
            different value given explicitly is refused rather than silently ignored
    EXTEND  taken from the checkpoint unless given: --max-steps can lengthen a finished run
    LOCAL   how this process runs (devices, workers, folders): never taken from a checkpoint
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import field
from typing import Any

RUN, EXTEND, LOCAL = "run", "extend", "local"
GROUPS = ("data", "model and loss", "training", "hardware", "files")  # --help's sections, in order


def setting(
    default: Any,
    help: str,
    *,
    resume: str = LOCAL,
    check: Callable[[Any], Any] | None = None,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    group: str = "training",
    flag: str | None = None,
    in_yaml: bool = True,
    many: bool = False,
) -> Any:
    """A dataclass field carrying everything the flag, the YAML key and --resume need.
    `many`: the flag takes one or more values, and the setting is a list."""
    assert group in GROUPS, group
    meta = dict(
        help=help,
        resume=resume,
        check=check,
        choices=choices,
        metavar=metavar,
        group=group,
        flag=flag,
        in_yaml=in_yaml,
        many=many,
    )
    if isinstance(default, list):  # a dataclass shares no mutable default: each config gets a copy
        return field(default_factory=default.copy, metadata=meta)
    return field(default=default, metadata=meta)


def default_of(f: dataclasses.Field[Any]) -> Any:
    """A declared setting's built-in default."""
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def flag_of(f: dataclasses.Field[Any]) -> str:
    return f.metadata["flag"] or "--" + f.name.replace("_", "-")
