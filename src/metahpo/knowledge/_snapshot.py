"""Column-wise reading of a relational Optuna storage for meta-learning.

Reading thousands of trials through Optuna's object API builds one ``FrozenTrial`` per trial;
for meta-learning only three columns matter (parameters, value, state). With an
:class:`~optuna.storages.RDBStorage` this module reads them with three SQL queries over
Optuna's documented tables (``studies``, ``study_user_attributes``, ``trials``,
``trial_values``, ``trial_params``) into arrays, so 150 tasks × 200 trials load in well under a
second. Other storages use the object API (see :func:`metahpo.knowledge.from_store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, json_to_distribution
from optuna.storages import RDBStorage

from metahpo.knowledge._records import RECORD_ATTR, TaskRecord


@dataclass(frozen=True)
class StudyColumns:
    """Completed trials of one study, column-wise (external parameter values)."""

    name: str
    record: TaskRecord
    values: np.ndarray
    params: dict[str, np.ndarray]


@lru_cache(maxsize=256)
def _distribution(js: str) -> BaseDistribution:
    return json_to_distribution(js)


def _query(conn: Any, sql: str) -> pd.DataFrame:
    """Rows of a constant query through the DB-API cursor (SQLAlchemy's row objects cost more
    than the query itself at this size)."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        names = [d[0] for d in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=names)
    finally:
        cursor.close()


def read_rdb_columns(storage: RDBStorage) -> list[StudyColumns]:
    """Every study with a metahpo task record, its completed single-objective trials as arrays."""
    import json

    with storage.engine.connect() as conn:
        studies = _query(
            conn,
            "SELECT s.study_id, s.study_name, a.value_json FROM studies s "
            "JOIN study_user_attributes a ON a.study_id = s.study_id "
            f"WHERE a.key = '{RECORD_ATTR}'",  # a constant of this module, not user input
        )
        if studies.empty:
            return []
        values = _query(
            conn,
            "SELECT t.trial_id, t.study_id, v.value FROM trials t "
            "JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 "
            "WHERE t.state = 'COMPLETE' ORDER BY t.trial_id",
        )
        # The distribution JSON is long and repeats on every row: read each distinct one once
        # (per study and parameter), and the rows without it.
        params = _query(
            conn,
            "SELECT t.study_id, p.trial_id, p.param_name, p.param_value "
            "FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id "
            "WHERE t.state = 'COMPLETE'",
        )
        kinds = _query(
            conn,
            "SELECT DISTINCT t.study_id, p.param_name, p.distribution_json "
            "FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id "
            "WHERE t.state = 'COMPLETE'",
        )
        # A parameter whose distribution changed within a study needs it row by row.
        mixed = kinds.duplicated(["study_id", "param_name"], keep=False)
        if mixed.any():
            per_row = _query(
                conn,
                "SELECT p.trial_id, p.param_name, p.distribution_json "
                "FROM trial_params p JOIN trials t ON t.trial_id = p.trial_id "
                "WHERE t.state = 'COMPLETE'",
            )
            params = params.merge(per_row, on=["trial_id", "param_name"], how="left")
        else:
            params = params.merge(
                kinds, on=["study_id", "param_name"], how="left", validate="many_to_one"
            )
    out: list[StudyColumns] = []
    values = values[values["study_id"].isin(studies["study_id"])]
    by_study = dict(tuple(values.groupby("study_id")))
    params_by_study = dict(tuple(params.groupby("study_id")))
    for study_id, name, record_json in studies.itertuples(index=False):
        rows = by_study.get(study_id)
        if rows is None:
            continue
        record = TaskRecord.from_json(json.loads(record_json))
        trial_ids = rows["trial_id"].to_numpy()
        cols: dict[str, np.ndarray] = {}
        mine = params_by_study.get(study_id, params.iloc[:0])
        mine = mine[mine["trial_id"].isin(trial_ids)]
        for (pname, js), group in mine.groupby(["param_name", "distribution_json"]):
            col = cols.setdefault(str(pname), np.full(len(trial_ids), np.nan, dtype=object))
            pos = np.searchsorted(trial_ids, group["trial_id"].to_numpy())  # ids are sorted
            raw = group["param_value"].to_numpy(dtype=float)
            dist = _distribution(str(js))
            if isinstance(dist, CategoricalDistribution):
                col[pos] = np.asarray(dist.choices, dtype=object)[raw.astype(int)]
            else:
                col[pos] = raw
        y = rows["value"].to_numpy(dtype=float)  # NULL (infinite values) -> nan
        out.append(StudyColumns(str(name), record, y, cols))
    return out
