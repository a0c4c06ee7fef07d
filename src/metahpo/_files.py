"""Files metahpo writes for a user: checked before the work, written atomically.

A user's files are sacred. Every output path (a JSON summary, a saved model, predictions, a
report, an exported bundle) is checked before any work starts: its folder must exist and be
writable, and it must not be, once symlinks and relative parts are resolved, any input of the
command (the storage file, the data file or anything inside a data folder, the model) nor
another output. Writes then go to a temporary file in the same folder, renamed over the target
at the end (:func:`atomic_write`), so an interrupted write never leaves half a file behind.

This module sits beside `metahpo.errors`, below every layer, and imports
nothing heavy, so every command and interface can use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from metahpo.errors import MetaHPOError

#: Files next to a SQLite database that belong to it (rollback journal, write-ahead log).
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")

PathLike = str | os.PathLike[str]


def storage_file(url: object) -> str | None:
    """The file behind a SQLite URL or journal path (``None``: in memory, a server, or not a
    URL at all, e.g. a storage object)."""
    if not isinstance(url, str):
        return None
    if url.endswith((".log", ".jsonl")) and "://" not in url:
        return url
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        return path if path and path != ":memory:" else None
    return None


def _resolved(path: PathLike) -> Path:
    return Path(path).expanduser().resolve()


def _same(a: Path, b: Path) -> bool:
    """Same file: equal resolved paths, or two names of one existing file (a hard link)."""
    if a == b:
        return True
    with contextlib.suppress(OSError):
        return a.exists() and b.exists() and os.path.samefile(a, b)
    return False


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _input_paths(label: str, path: PathLike, storage: bool) -> list[tuple[str, Path, bool]]:
    """``(what, resolved path, is a folder whose whole content is input)`` of one input."""
    p = _resolved(path)
    if storage:
        return [(label, p, False)] + [
            (label, p.with_name(p.name + side), False) for side in _SQLITE_SIDE_FILES
        ]
    if p.is_dir():
        return [(f"{label} folder {path}", p, True)]
    # a data file's folder may hold the metadata.yaml that is read with it
    metadata = p.parent / "metadata.yaml"
    return [(f"{label} {path}", p, False), (f"{label}'s metadata {metadata}", metadata, False)]


def check_writable(path: PathLike, option: str, *, folder: bool = False) -> None:
    """The folder of an output file exists and is writable; the path is not a folder (or, for
    ``folder=True``, not a file)."""
    p = Path(path).expanduser()
    if str(path).strip() == "":
        raise MetaHPOError(f"{option}: empty path; give a file name")
    if folder:  # made with its parents if need be: the nearest existing one must be writable
        if p.exists() and not p.is_dir():
            raise MetaHPOError(f"{option} {path} is a file; give a folder")
        parent = _resolved(p)
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise MetaHPOError(f"{option} {path}: {parent} is a file, not a folder")
    else:
        if p.is_dir():
            raise MetaHPOError(f"{option} {path} is a folder; give a file name")
        parent = _resolved(p).parent
    if not parent.is_dir():
        raise MetaHPOError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MetaHPOError(f"{option} {path}: folder {parent} is not writable")


def check_outputs(
    outputs: Mapping[str, PathLike | None],
    *,
    inputs: Mapping[str, PathLike | None] | None = None,
    storage: object = None,
    folders: Iterable[str] = (),
    writable: bool = True,
) -> None:
    """Refuse, in one line naming the option, an output that would overwrite an input.

    Args:
        outputs: Option name (``--json``) -> the path it writes (``None``: not asked for).
        inputs: What the command reads, label (``DATA``, ``MODEL``) -> path; a folder counts
            with everything inside it.
        storage: The storage URL (or object); its SQLite or journal file is an input.
        folders: The options of ``outputs`` that name a folder to write into (``--export``).
        writable: Also check that each output's folder exists and is writable.

    Raises:
        MetaHPOError: For an output whose folder is missing or not writable, an output equal
            to (or inside a data folder of) an input, or two outputs that are the same file.
    """
    chosen = {k: v for k, v in outputs.items() if v is not None}
    folder_options = set(folders)
    for option, path in chosen.items():
        if writable:
            check_writable(path, option, folder=option in folder_options)
    guarded: list[tuple[str, Path, bool]] = []
    for label, given in (inputs or {}).items():
        if given is not None and str(given).strip():
            with contextlib.suppress(OSError, ValueError):  # not a path (e.g. JSON text)
                guarded += _input_paths(label, given, storage=False)
    db = storage_file(storage)
    if db is not None:
        guarded += _input_paths(f"the storage {storage}", db, storage=True)
    seen: list[tuple[str, PathLike, Path]] = []
    for option, path in chosen.items():
        p = _resolved(path)
        for label, q, is_folder in guarded:
            if _same(p, q):
                raise MetaHPOError(
                    f"{option} {path} is {label}, which this command reads: writing it would "
                    "destroy it; choose another path"
                )
            if is_folder and _inside(p, q):
                raise MetaHPOError(
                    f"{option} {path} is inside {label}, which this command reads: write "
                    "outputs elsewhere"
                )
        for other, other_path, q in seen:
            if _same(p, q):
                raise MetaHPOError(
                    f"{option} {path} and {other} {other_path} are the same file; give two paths"
                )
        seen.append((option, path, p))


def atomic_write(
    path: PathLike, data: bytes | str | Callable[[IO[bytes]], None], *, encoding: str = "utf-8"
) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``data`` is bytes, text (encoded with ``encoding``) or a function that writes to the open
    binary file. A symlink at ``path`` is kept and its target replaced. The file gets the usual
    permissions of a new file (``0o666`` less the umask), or those of the file it replaces.

    Raises:
        OSError: When the folder cannot be written (the target is then left as it was).
    """
    target = _resolved(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode(encoding) if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(path)


def _mode(target: Path) -> int:
    """The permissions of the file being replaced, else those of a new file."""
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    return 0o666 & ~_umask()


def _umask() -> int:
    with contextlib.suppress(OSError, ValueError, StopIteration):  # Linux: no side effect
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    umask = os.umask(0o022)  # elsewhere: read it by setting it (restored at once)
    os.umask(umask)
    return umask
