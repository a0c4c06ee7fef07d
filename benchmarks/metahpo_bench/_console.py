"""The lab's console and files: results on stdout, progress on stderr, outputs checked and
written atomically. Built on rich and the standard library: the lab uses metahpo's public
names only, and the library's own console helpers are private to its command line.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from metahpo.errors import MetaHPOError

#: Results (tables, the closing line).
out = Console()
#: Progress and warnings.
err = Console(stderr=True)

#: A plain progress line (stderr not a terminal) at most this often, in seconds; the last step
#: of a task always gets one.
PLAIN_INTERVAL = 5.0


class PlainProgress:
    """Progress as plain lines on stderr (CI, ``nohup``, a log file): at most one every
    :data:`PLAIN_INTERVAL` seconds, and one at the last step; no ANSI codes. The methods of
    ``rich.progress.Progress`` that the lab's commands use."""

    def __init__(self, interval: float = PLAIN_INTERVAL) -> None:
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

    def update(
        self,
        task_id: int,
        *,
        total: float | None = None,
        completed: float | None = None,
        description: str | None = None,
        **_: Any,
    ) -> None:
        task = self._tasks[task_id]
        before = task["completed"]
        changes = {"total": total, "completed": completed, "description": description}
        task.update({k: v for k, v in changes.items() if v is not None})
        if task["completed"] == before:
            return
        done, of = task["completed"], task["total"]
        last = of is not None and done >= of
        now = time.perf_counter()
        if not last and self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        count = f"{done:g}/{of:g}" if of is not None else f"{done:g}"
        sys.stderr.write(f"{task['description']}: {count} done, {now - task['start']:.1f} s\n")
        sys.stderr.flush()


def progress_bar() -> Any:
    """A progress bar on stderr (description, bar, n/N, elapsed, ETA), or plain lines
    (:class:`PlainProgress`) when stderr is not a terminal."""
    if not err.is_terminal:
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
        console=err,
        transient=False,
    )


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Refuse, in one line naming the option, an output that is an input, lies inside an
    input folder, or is another output (paths resolved, symlinks followed)."""
    given = {k: Path(v).expanduser().resolve() for k, v in inputs.items() if v}
    seen: list[tuple[str, Path]] = []
    for option, path in outputs.items():
        if not path:
            continue
        p = Path(path).expanduser().resolve()
        for label, q in given.items():
            if _same(p, q):
                raise MetaHPOError(
                    f"{option} {path} is {label} {inputs[label]}, which this command reads: "
                    "writing it would destroy it; choose another path"
                )
            if q.is_dir() and q in p.parents:
                raise MetaHPOError(
                    f"{option} {path} is inside {label} folder {inputs[label]}, which this "
                    "command reads: write outputs elsewhere"
                )
        for other, q in seen:
            if _same(p, q):
                raise MetaHPOError(f"{option} {path} and {other} are the same file; give two paths")
        seen.append((option, p))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    target = Path(path).resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(path)
