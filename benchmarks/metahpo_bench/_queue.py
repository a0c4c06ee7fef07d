"""Running a grid's units on an executor, a few at a time, each finished as it comes back.

The live and TIME grids both train their missing runs this way: at most ``in_flight`` units are
submitted at once, and ``finish`` gets each result as soon as it is done (or the error, cut to 300
characters, of a unit that failed: a method that crashes on one run is reported, not fatal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TypeVar

U = TypeVar("U")
R = TypeVar("R")


def failure_text(exc: BaseException) -> str:
    """The error recorded for a unit that failed: its type and message, cut to 300 characters."""
    return f"{type(exc).__name__}: {exc}"[:300]


def drain(
    todo: Sequence[U],
    submit: Callable[[U], Future[R]],
    finish: Callable[[U, R | None, str | None], None],
    in_flight: int,
) -> None:
    """Submit every unit of ``todo`` with ``submit``, at most ``in_flight`` at a time, in order;
    ``finish(unit, result, None)`` or ``finish(unit, None, error)`` as each comes back."""
    pending: dict[Future[R], U] = {}
    queue = list(todo)
    while queue or pending:
        while queue and len(pending) < in_flight:
            u = queue.pop(0)
            pending[submit(u)] = u
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for fut in finished:
            u = pending.pop(fut)
            failure = fut.exception()
            if failure is None:
                finish(u, fut.result(), None)
            else:
                finish(u, None, failure_text(failure))
