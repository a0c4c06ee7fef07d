"""Entry point: argument parsing, error reporting and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from metahpo.errors import MetaHPOError

#: Exit status for bad input (a :class:`MetaHPOError`).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (finished work is kept).
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from metahpo import __version__
    from metahpo.cli import _bench, _features, _kb, _predict, _report, _suggest, _tune

    parser = _Parser(
        prog="metahpo",
        description="Hyperparameter optimisation that learns from earlier tuning runs.",
    )
    parser.add_argument("--version", action="version", version=f"metahpo {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for module in (_tune, _predict, _features, _kb, _suggest, _bench, _report):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 130 interrupted).

    Parsing imports nothing heavy (the command modules import what they need when they run),
    so that ``--help`` and argument errors answer at once.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (printed already)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        check = getattr(args, "check", None)
        if check is not None:  # a command's option checks that import nothing heavy
            check(args)
        if getattr(args, "uses_optuna", True):  # predict does not: it starts faster without
            _quiet_optuna()
        status: int = args.run(args)
        return status
    except MetaHPOError as exc:
        print(f"metahpo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("metahpo: interrupted; finished work is kept", file=sys.stderr)
        return EXIT_INTERRUPTED


def _quiet_optuna() -> None:
    """Optuna's INFO line per trial is noise on the command line (progress is ours)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
