"""Shared console helpers: a stderr console for progress, stdout for results."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

out = Console()
err = Console(stderr=True)


def progress_bar(*extra: TextColumn) -> Progress:
    """A progress bar on stderr: description, bar, n/N, elapsed, ETA and extra columns."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        *extra,
        console=err,
        transient=False,
    )
