"""`python train.py --style IMG --data DIR` (or `faststyle train ...`): parse, train, then
export the final model to ONNX (--export-dir; --no-export skips it).

The flags are generated from faststyle.training.config.TrainConfig, the one declaration of
every training setting; see `--help`.
"""

from __future__ import annotations

from pathlib import Path

from faststyle.commands.common import Parser
from faststyle.errors import run_cli


def build_parser(prog: str = "train.py") -> Parser:
    from faststyle.training.config_sources import add_arguments

    p = Parser(
        prog=prog,
        description="Train a fast style-transfer network (Johnson et al. 2016) for one style image, or one network "
        "for several (a style each, blendable), or add a style to a --base model.",
        epilog="Defaults shown are the built-in ones; --config FILE overrides them, the command line "
        "overrides both. --print-config shows the result.",
    )
    add_arguments(p)
    return p


def main(argv: list[str] | None = None, prog: str = "train.py") -> int:
    def run() -> int:
        from faststyle.training.config_sources import merge

        config, explicit = merge(build_parser(prog).parse_args(argv))
        if config.print_config:
            print(config.to_yaml(), end="")
            return 0
        # torch and Lightning only now: `--help` and a refused flag answer without loading them
        from faststyle.export.onnx_export import export_onnx
        from faststyle.export.predictor_export import predictor_file
        from faststyle.training.run import train

        trained = train(config, explicit)  # None on the ranks of a multi-process run that save nothing
        if trained is not None and trained.config.export:
            onnx_path = export_onnx(trained.model, Path(trained.config.export_dir) / f"{trained.name}.onnx")
            painter = trained.config.finetune == "predictor"  # its second graph, the predictor, beside it
            print(f"ONNX model: {onnx_path}" + (f" and {predictor_file(onnx_path)}" if painter else ""))
        return 0

    return run_cli(run)
