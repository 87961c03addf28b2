"""Where a training setting's value comes from: train.py's flags, a --config YAML file, and the
checkpoint of a resumed run, each derived from the one declaration in `config.TrainConfig`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from faststyle.errors import UserError
from faststyle.training.config import TrainConfig, declared
from faststyle.training.settings import LOCAL, RUN, default_of, flag_of
from faststyle.values import user_path


def add_arguments(p: argparse.ArgumentParser, names: tuple[str, ...] | None = None, defaults: bool = False) -> None:
    """One flag per setting (or per setting in `names`). Every default is None, meaning "not
    given", so the YAML file can fill it, and --help shows the real built-in default instead;
    with `defaults`, the flags default to the built-in values (a command without YAML files)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in declared():
        if names is not None and f.name not in names:
            continue
        m = f.metadata
        group = groups.get(m["group"]) or groups.setdefault(m["group"], p.add_argument_group(m["group"]))
        help_text, default = m["help"], default_of(f)
        given = default if defaults else None
        if default not in (None, False, True) and "[default" not in help_text:
            shown = " ".join(map(str, default)) if isinstance(default, list) else default
            help_text += f" (default: {shown})".replace("%", "%%")
        if isinstance(default, bool):
            action = "store_false" if default else "store_true"
            group.add_argument(flag_of(f), dest=f.name, action=action, default=given, help=help_text)
        else:
            group.add_argument(
                flag_of(f),
                dest=f.name,
                type=m["check"],
                choices=m["choices"],
                metavar=m["metavar"],
                default=given,
                help=help_text,
                nargs="+" if m["many"] else None,
            )


def merge(args: argparse.Namespace) -> tuple[TrainConfig, set[str]]:
    """Defaults <- --config file <- command line; also the names the user gave explicitly."""
    given = {k: v for k, v in vars(args).items() if v is not None}
    values: dict[str, Any] = {}
    if given.get("config"):
        values.update(read_yaml(Path(given["config"])))
    values.update(given)
    return TrainConfig(**values), set(given)


def read_yaml(path: Path) -> dict[str, Any]:
    """A --config file's settings, checked as the flags are; one-line errors name the file and key."""
    if not path.is_file():
        raise UserError(f"--config {path}: no such file")
    try:
        conf = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"--config {path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(conf, dict):
        raise UserError(f"--config {path}: expected 'key: value' lines, e.g. image_size: 128")
    by_name = {f.name: f for f in declared() if f.metadata["in_yaml"]}
    values: dict[str, Any] = {}
    for key, value in conf.items():
        name = str(key).replace("-", "_")
        if name not in by_name:
            raise UserError(f"--config {path}: unknown key '{key}' (known: {', '.join(sorted(by_name))})")
        m = by_name[name].metadata
        if m["many"] and value is not None and not isinstance(value, list):  # null stays unset
            value = [value]
        try:
            if m["check"] is not None and value is not None:  # a list's items one by one, as the flag does
                value = [m["check"](v) for v in value] if m["many"] else m["check"](value)
        except argparse.ArgumentTypeError as e:
            raise UserError(f"--config {path}: {key}: {e}") from None
        if m["choices"] and value not in m["choices"]:
            raise UserError(f"--config {path}: {key}: {value!r} is not one of {', '.join(m['choices'])}")
        values[name] = value
    return values


def apply_resume(config: TrainConfig, saved: dict[str, Any], explicit: set[str]) -> TrainConfig:
    """The settings of a resumed run: RUN and EXTEND ones from the checkpoint's `saved`
    hyperparameters (read in the current format: faststyle.training.checkpoint_io); a RUN
    setting given explicitly with another value is refused."""
    updates: dict[str, Any] = {}
    for f in declared():
        rule = f.metadata["resume"]
        if rule == LOCAL or f.name not in saved:
            continue
        mine, theirs = getattr(config, f.name), saved[f.name]
        if rule == RUN and f.name in explicit and not same_setting(f.name, mine, theirs):
            shown = [" ".join(map(str, v)) if isinstance(v, list) else v for v in (theirs, mine)]
            raise UserError(
                f"--resume: this run was started with {flag_of(f)} {shown[0]}, not {shown[1]}; drop "
                f"{flag_of(f)} to continue it, or start a new run with another --checkpoint-dir"
            )
        if rule == RUN or f.name not in explicit:
            updates[f.name] = theirs
    return dataclasses.replace(config, **updates)


def same_setting(name: str, mine: Any, theirs: Any) -> bool:
    """Equal values; paths that name the same file count as equal."""
    if mine == theirs:
        return True
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(same_setting(name, a, b) for a, b in zip(mine, theirs, strict=True))
    if isinstance(mine, str) and isinstance(theirs, str) and name in ("style", "data", "base"):
        a, b = user_path(mine), user_path(theirs)
        return a.exists() and b.exists() and a.resolve() == b.resolve()
    if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
        return float(mine) == float(theirs)
    return False
