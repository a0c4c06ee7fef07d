"""Bounded waits for a SQLite storage that another process holds locked.

SQLite makes a connection wait for another connection's lock (its busy timeout) and then fails
with "database is locked". metahpo waits at most :func:`lock_timeout` seconds (60 unless the
environment variable ``METAHPO_LOCK_TIMEOUT`` says otherwise) for each lock; before opening a
store it checks the lock itself, so that a user learns within :data:`LOCK_NOTICE_AFTER` seconds
that the run waits (a :class:`~metahpo.errors.MetaHPOWarning`, which the CLI prints as a
``metahpo:`` line on stderr), and gets a one-line error once the wait is over.
"""

from __future__ import annotations

import os
import sqlite3
import warnings

from metahpo._files import storage_file
from metahpo.errors import KnowledgeBaseError, MetaHPOWarning

#: Seconds a SQLite connection waits for another process's lock, unless
#: :data:`LOCK_TIMEOUT_ENV` gives another number.
DEFAULT_LOCK_TIMEOUT = 60.0
#: Environment variable: seconds to wait for a locked SQLite storage.
LOCK_TIMEOUT_ENV = "METAHPO_LOCK_TIMEOUT"
#: Seconds of waiting for a lock before metahpo says that it waits.
LOCK_NOTICE_AFTER = 2.0


def lock_timeout() -> float:
    """Seconds to wait for a locked SQLite storage: ``$METAHPO_LOCK_TIMEOUT``, else 60."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 86400:  # also NaN
        raise KnowledgeBaseError(
            f"{LOCK_TIMEOUT_ENV}={raw!r}: give the seconds to wait for a locked storage (0 to "
            "86400)"
        )
    return value


class StorageLockedError(KnowledgeBaseError):
    """A SQLite storage still locked by another process after :func:`lock_timeout` seconds."""


def locked_error(url: str, waited: float | None = None) -> StorageLockedError:
    """The one-line error of a storage still locked after the wait."""
    waited = lock_timeout() if waited is None else waited
    return StorageLockedError(
        f"storage {url!r} is locked by another process (waited {waited:g} s); retry when it "
        f"is done, or set {LOCK_TIMEOUT_ENV} to wait longer"
    )


def _can_write(path: str, timeout: float) -> bool:
    """Whether a write lock on the SQLite file can be had within ``timeout`` seconds (taken
    and given back at once). Problems other than a lock count as free: opening the storage
    reports them."""
    try:
        con = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        return True
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        return "locked" not in text and "busy" not in text
    except sqlite3.Error:
        return True
    finally:
        con.close()
    return True


def wait_for_lock(url: str) -> None:
    """Return once the SQLite file of ``url`` can be written; warn after
    :data:`LOCK_NOTICE_AFTER` seconds, raise :class:`KnowledgeBaseError` after
    :func:`lock_timeout` seconds. Nothing to do for other URLs or a file not made yet."""
    path = storage_file(url)
    if path is None or not url.startswith("sqlite") or not os.path.isfile(path):
        return
    timeout = lock_timeout()
    first = min(LOCK_NOTICE_AFTER, timeout)
    if _can_write(path, first):
        return
    if timeout > first:
        warnings.warn(
            f"waiting up to {timeout:g} s for the lock on {path} (another process holds it)",
            MetaHPOWarning,
            stacklevel=2,
        )
        if _can_write(path, timeout - first):
            return
    raise locked_error(url, timeout)


def lock_failure(exc: BaseException) -> StorageLockedError | None:
    """The one-line error for an exception caused, anywhere in its chain, by a SQLite storage
    that stayed locked longer than :func:`lock_timeout` during a run (Optuna raises its own
    errors then); ``None`` for any other exception."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageLockedError):
            return current
        if "database is locked" in str(current).lower():
            return StorageLockedError(
                f"the storage stayed locked by another process for over {lock_timeout():g} s "
                f"during the run; finished trials are kept: rerun when it is free (or set "
                f"{LOCK_TIMEOUT_ENV} to wait longer)"
            )
        current = current.__cause__ or current.__context__
    return None
