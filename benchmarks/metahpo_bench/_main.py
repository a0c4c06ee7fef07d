"""Entry point of ``metahpo-bench`` (also ``python -m metahpo_bench``): the benchmark lab's command.

It takes the arguments that ``metahpo bench`` took before the harness left the installed
library, and answers like the ``metahpo`` command: bad input is one ``metahpo-bench: error:``
line and exit status 2, Ctrl-C exits 130 and keeps finished runs.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from metahpo.errors import MetaHPOError, MetaHPOWarning
from metahpo_bench._cli import DESCRIPTION, add_arguments
from metahpo_bench._cli_live import COMMAND

#: Exit status for bad input (a :class:`MetaHPOError`), as ``metahpo``'s.
EXIT_USAGE = 2
#: Exit status after Ctrl-C (finished runs are kept).
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    """The command line of ``metahpo-bench``."""
    p = _Parser(prog=COMMAND, description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the lab's command; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (printed already)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no INFO line per trial
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", MetaHPOWarning)
            shown = warnings.showwarning

            def show(message: Warning | str, category: type[Warning], *a: Any, **kw: Any) -> None:
                if issubclass(category, MetaHPOWarning):
                    print(f"{COMMAND}: {message}", file=sys.stderr, flush=True)
                else:
                    shown(message, category, *a, **kw)

            warnings.showwarning = show
            status: int = args.run(args)
        return status
    except MetaHPOError as exc:
        print(f"{COMMAND}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{COMMAND}: interrupted; finished runs are kept", file=sys.stderr)
        return EXIT_INTERRUPTED
