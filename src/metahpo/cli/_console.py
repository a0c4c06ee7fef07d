"""Shared console helpers: a stderr console for progress, stdout for results.

``out`` and ``err`` create their rich console on first use, so that importing the command
modules (``metahpo --help``, argument errors) does not import rich.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

#: A plain progress line (stderr not a terminal) at most this often, in seconds; the first
#: and the last step of a task always get one.
PLAIN_INTERVAL = 5.0


class _LazyConsole:
    """A ``rich.console.Console`` made on first attribute access."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Any = None

    def get(self) -> Any:
        """The console itself (made now if need be)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kwargs)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


out: Any = _LazyConsole()
err: Any = _LazyConsole(stderr=True)


def stderr_is_terminal() -> bool:
    """Whether progress can be drawn as a live bar (stderr is an interactive terminal)."""
    return bool(err.is_terminal)


class PlainProgress:
    """What :func:`progress_bar` gives when stderr is not a terminal (CI, ``nohup``, a
    notebook's log): one plain line per update, at most every :data:`PLAIN_INTERVAL` seconds
    (and for the first and last step), no ANSI codes. Same methods as ``rich.progress.Progress``
    as the commands use it."""

    def __init__(self, stream: TextIO | None = None, interval: float = PLAIN_INTERVAL) -> None:
        self._stream = stream
        self._interval = interval
        self._tasks: dict[int, dict[str, Any]] = {}
        self._last: float | None = None

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = {
            "description": description,
            "total": total,
            "completed": 0,
            "start": time.perf_counter(),
        }
        return task_id

    def remove_task(self, task_id: int) -> None:
        self._tasks.pop(task_id, None)

    def update(
        self,
        task_id: int,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        **_: Any,
    ) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        before = task["completed"]
        if total is not None:
            task["total"] = total
        if description is not None:
            task["description"] = description
        if completed is not None:
            task["completed"] = completed
        if advance is not None:
            task["completed"] += advance
        if task["completed"] != before:
            self._line(task)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def _line(self, task: dict[str, Any]) -> None:
        done, total = task["completed"], task["total"]
        of = f"{done:g}/{total:g}" if total is not None else f"{done:g}"
        elapsed = time.perf_counter() - task["start"]
        self.line(
            f"{task['description']}: {of} done, {elapsed:.1f} s",
            force=total is not None and done >= total,
        )

    def line(self, text: str, *, force: bool = False) -> bool:
        """Write ``text`` as one line on stderr, flushed at once, unless the last line is less
        than the interval old (``force``: write it anyway). Returns whether it was written."""
        now = time.perf_counter()
        if not force and self._last is not None and now - self._last < self._interval:
            return False
        self._last = now
        stream = self._stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()
        return True


def progress_bar(*extra: Any) -> Any:
    """A progress bar on stderr: description, bar, n/N, elapsed, ETA and extra columns; plain
    lines (:class:`PlainProgress`) when stderr is not a terminal."""
    if not stderr_is_terminal():
        return PlainProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        *extra,
        console=err.get(),
        transient=False,
    )


def print_data_notes(dataset: Any, console: Any = None) -> None:
    """What loading the data dropped or changed (columns, unlabeled rows, infinite values,
    decimal commas), one ``note:`` line each; on stderr unless ``console`` says otherwise."""
    console = err if console is None else console
    for col, why in dataset.dropped:
        console.print(f"note: dropped column {col!r} ({why})", markup=False, highlight=False)
    for note in dataset.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
