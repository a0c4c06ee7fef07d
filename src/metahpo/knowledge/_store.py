"""The experience store: tuning runs as Optuna studies, with metahpo's task record attached.

Any Optuna storage URL works (SQLite by default, PostgreSQL for a team, a journal file). The
same database therefore holds a user's ordinary Optuna studies, metahpo runs and knowledge-base
builds, and ``optuna-dashboard`` shows all of them. metahpo's own data lives in study and trial
user attributes (see :mod:`metahpo.knowledge._records`), so no extra tables or migrations are
needed on top of Optuna's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metahpo._files import storage_file
from metahpo.errors import KnowledgeBaseError
from metahpo.evaluation import Evaluation
from metahpo.knowledge._locks import lock_timeout, locked_error, wait_for_lock
from metahpo.knowledge._records import (
    RECORD_ATTR,
    TRIAL_ERROR_ATTR,
    TRIAL_FIT_TIME_ATTR,
    TRIAL_FOLDS_ATTR,
    TRIAL_INDEX_ATTR,
    TRIAL_METRICS_ATTR,
    TaskRecord,
)
from metahpo.spaces import SearchSpace

DEFAULT_STORAGE = "sqlite:///metahpo.db"
#: URLs of a SQLite database in memory: opened as Optuna's in-memory storage (one process).
_IN_MEMORY_URLS = ("sqlite://", "sqlite:///:memory:")


#: Errors that several processes opening a new database at once can meet while Optuna creates
#: its tables (PostgreSQL: two ``CREATE TYPE`` racing, "duplicate key ... pg_type"; SQLite:
#: "database is locked"); opening again succeeds once one of them has made the schema.
_SCHEMA_RACE = ("already exists", "duplicate key", "database is locked", "uniqueviolation")


def _rdb_storage(url: str, attempts: int = 8, **kwargs: Any) -> optuna.storages.RDBStorage:
    """``RDBStorage(url, **kwargs)`` (no heartbeat unless given), retried while several
    processes race to create Optuna's schema in a new database, for at most
    :func:`lock_timeout` seconds in all."""
    import random
    import time

    from sqlalchemy.exc import DBAPIError

    kwargs.setdefault("heartbeat_interval", None)
    deadline = time.monotonic() + lock_timeout()
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except DBAPIError as exc:
            last = attempt == attempts - 1 or time.monotonic() > deadline
            if last or not any(m in str(exc).lower() for m in _SCHEMA_RACE):
                raise
            time.sleep(0.1 * (attempt + 1) + random.random() * 0.2)
    raise AssertionError("unreachable")


def open_storage(url: str | BaseStorage, **rdb_options: Any) -> BaseStorage:
    """An Optuna storage for ``url``, with a one-line error when it cannot be opened.

    ``rdb_options`` go to :class:`optuna.storages.RDBStorage` for database URLs (e.g. a
    heartbeat); opening is retried while several processes create a new database's schema.
    A SQLite file locked by another process is waited for at most :func:`lock_timeout` seconds
    (a :class:`~metahpo.errors.MetaHPOWarning` says so after :data:`LOCK_NOTICE_AFTER`
    seconds), then refused in one line; its connections wait as long for each later lock.
    """
    if isinstance(url, BaseStorage):
        return url
    if url in _IN_MEMORY_URLS:
        # SQLite's :memory: is one database per connection, and Optuna's heartbeat thread opens
        # its own: it would find no tables. Optuna's in-memory storage is what the URL means.
        return optuna.storages.InMemoryStorage()
    if url.endswith((".log", ".jsonl")) and "://" not in url:
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url))
    if url.startswith("sqlite"):
        wait_for_lock(url)
        engine = dict(rdb_options.pop("engine_kwargs", None) or {})
        engine["connect_args"] = {"timeout": lock_timeout(), **engine.get("connect_args", {})}
        rdb_options["engine_kwargs"] = engine
    try:
        return _rdb_storage(url, **rdb_options)
    except (ValueError, ImportError) as exc:
        raise KnowledgeBaseError(f"cannot open storage {url!r}: {exc}") from None
    except Exception as exc:  # SQLAlchemy errors (bad path, unreachable server, ...)
        first = str(exc).strip().splitlines()[0]
        if "alembic" in first.lower() or "version" in first.lower():
            raise KnowledgeBaseError(
                f"storage {url!r} was made by another Optuna version; upgrade it with: "
                f"optuna storage upgrade --storage {url}"
            ) from None
        if "database is locked" in first.lower():
            raise locked_error(url) from None
        raise KnowledgeBaseError(f"cannot open storage {url!r}: {first}") from None


def require_existing(url: str | BaseStorage) -> None:
    """Refuse a SQLite or journal store whose file does not exist, before opening it would
    create an empty one (for commands that only read a store)."""
    import os

    if isinstance(url, BaseStorage):
        return
    path = storage_file(url)
    if path is not None and not os.path.isfile(path):
        raise KnowledgeBaseError(f"no store at {url!r}: file {path} does not exist")


def evaluation_to_trial(
    space: SearchSpace, evaluation: Evaluation, index: int | None = None
) -> FrozenTrial:
    """An Optuna trial holding one evaluation (failed evaluations become FAIL trials)."""
    attrs: dict[str, Any] = {
        TRIAL_METRICS_ATTR: {
            k: (v if math.isfinite(v) else None) for k, v in evaluation.metrics.items()
        },
        TRIAL_FOLDS_ATTR: [v if math.isfinite(v) else None for v in evaluation.fold_values],
        TRIAL_FIT_TIME_ATTR: round(evaluation.fit_time, 4),
    }
    if index is not None:
        attrs[TRIAL_INDEX_ATTR] = index
    if not evaluation.ok:
        attrs[TRIAL_ERROR_ATTR] = evaluation.error or "failed"
        return optuna.trial.create_trial(
            state=TrialState.FAIL,
            params=dict(evaluation.config),
            distributions=space.distributions(),
            user_attrs=attrs,
        )
    return optuna.trial.create_trial(
        value=evaluation.value,
        params=dict(evaluation.config),
        distributions=space.distributions(),
        user_attrs=attrs,
    )


class KnowledgeStore:
    """Experience kept in one Optuna storage.

    Args:
        storage: An Optuna storage URL (``sqlite:///metahpo.db``, ``postgresql://...``) or
            storage object.

    Thread and process safety are those of the underlying Optuna storage (RDB storages accept
    many concurrent workers).
    """

    def __init__(self, storage: str | BaseStorage = DEFAULT_STORAGE) -> None:
        self.url = storage if isinstance(storage, str) else type(storage).__name__
        self.storage = open_storage(storage)

    def create_task(self, study_name: str, record: TaskRecord) -> optuna.Study:
        """Create (or open) the study of a task and attach its record."""
        study = optuna.create_study(
            storage=self.storage,
            study_name=study_name,
            direction="maximize" if record.direction == "maximize" else "minimize",
            load_if_exists=True,
        )
        existing = study.user_attrs.get(RECORD_ATTR)
        if existing is not None:
            old = TaskRecord.from_json(existing)
            if (
                old.fingerprint != record.fingerprint
                or old.space_signature != record.space_signature
            ):
                raise KnowledgeBaseError(
                    f"study {study_name!r} holds a run on other data or another search space "
                    f"({old.dataset}, {old.space_signature}); choose another --study name"
                )
            if record.metafeatures and not old.metafeatures:
                study.set_user_attr(RECORD_ATTR, record.to_json())
        else:
            study.set_user_attr(RECORD_ATTR, record.to_json())
        return study

    def set_record(self, study_name: str, record: TaskRecord) -> None:
        study = optuna.load_study(study_name=study_name, storage=self.storage)
        study.set_user_attr(RECORD_ATTR, record.to_json())

    def records(self) -> list[tuple[str, TaskRecord]]:
        """``(study name, record)`` of every study that carries a metahpo record."""
        out = []
        for s in self.storage.get_all_studies():
            raw = s.user_attrs.get(RECORD_ATTR)
            if raw is not None:
                out.append((s.study_name, TaskRecord.from_json(raw)))
        return out

    def study_names(self) -> list[str]:
        return [s.study_name for s in self.storage.get_all_studies()]

    def trials(
        self, study_name: str, states: Iterable[TrialState] | None = None
    ) -> list[FrozenTrial]:
        study_id = self.storage.get_study_id_from_name(study_name)
        return self.storage.get_all_trials(
            study_id, deepcopy=False, states=tuple(states) if states is not None else None
        )

    def done_indices(self, study_name: str) -> set[int]:
        """Design indices already evaluated (complete or failed) in a build study."""
        try:
            trials = self.trials(study_name, (TrialState.COMPLETE, TrialState.FAIL))
        except KeyError:
            return set()
        return {
            int(t.user_attrs[TRIAL_INDEX_ATTR]) for t in trials if TRIAL_INDEX_ATTR in t.user_attrs
        }

    def add_evaluation(
        self,
        study: optuna.Study,
        space: SearchSpace,
        evaluation: Evaluation,
        index: int | None = None,
    ) -> None:
        study.add_trial(evaluation_to_trial(space, evaluation, index))
