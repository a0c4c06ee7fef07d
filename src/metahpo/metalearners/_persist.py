"""Saving fitted meta-learners as plain JSON and ``.npz`` (never pickle).

A saved meta-learner is a folder::

    meta.json     format and version, class, hyperparameters, family / task, the search-space
                  signature, meta-feature names, the training tasks' names and whatever the
                  learner adds (e.g. library versions)
    arrays.npz    numeric arrays only, read back with ``allow_pickle=False``: the training
                  experience (meta-features, encoded configurations, scores), the fitted task
                  space and the learner's own state (``state__*``)

The experience is saved with the model so that a loaded learner can explain its suggestions
(neighbours) and be updated with a new run exactly like a freshly fitted one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from metahpo._files import atomic_write
from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge import Experience, TaskExperience

FORMAT = "metahpo-metalearner"
FORMAT_VERSION = 1
META_FILE = "meta.json"
ARRAYS_FILE = "arrays.npz"

_TASK_FIELDS = ("key", "dataset", "family", "task", "metric", "direction", "source")


def experience_to_arrays(experience: Experience) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The experience as JSON-able task descriptions plus concatenated arrays."""
    tasks = experience.tasks
    described = [{f: str(getattr(t, f)) for f in _TASK_FIELDS} for t in tasks]
    n_mf = len(experience.metafeature_names)
    dim = tasks[0].X.shape[1] if tasks else 0
    arrays: dict[str, Any] = {
        "metafeatures": (
            np.vstack([t.metafeatures for t in tasks]) if tasks else np.zeros((0, n_mf))
        ),
        "X": np.vstack([t.X for t in tasks]) if tasks else np.zeros((0, dim)),
        "y": np.concatenate([t.y for t in tasks]) if tasks else np.zeros(0),
        "offsets": np.cumsum([0, *(t.n for t in tasks)]).astype(np.int64),
        "design_index": (
            np.concatenate([t.design_index for t in tasks]).astype(np.int64)
            if tasks
            else np.zeros(0, dtype=np.int64)
        ),
        "design_offsets": np.cumsum([0, *(len(t.design_index) for t in tasks)]).astype(np.int64),
    }
    return described, arrays


def experience_from_arrays(
    described: list[dict[str, str]],
    arrays: dict[str, np.ndarray],
    metafeature_names: tuple[str, ...],
    version: str,
) -> Experience:
    """Inverse of :func:`experience_to_arrays`."""
    off, doff = arrays["offsets"], arrays["design_offsets"]
    tasks = []
    for i, d in enumerate(described):
        tasks.append(
            TaskExperience(
                key=d["key"],
                dataset=d["dataset"],
                family=d["family"],
                task=d["task"],
                metric=d["metric"],
                direction=d["direction"],
                metafeatures=arrays["metafeatures"][i].copy(),
                X=arrays["X"][off[i] : off[i + 1]].copy(),
                y=arrays["y"][off[i] : off[i + 1]].copy(),
                source=d["source"],
                design_index=arrays["design_index"][doff[i] : doff[i + 1]].copy(),
            )
        )
    return Experience(tuple(tasks), metafeature_names, version)


def write_folder(path: str | Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``meta.json`` and ``arrays.npz`` into ``path`` (created if needed).

    The arrays go first and ``meta.json`` last, each through a temporary file and a rename, so
    a folder with a ``meta.json`` is always complete.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        if np.asarray(a).dtype == object:
            raise KnowledgeBaseError(f"array {name!r} holds Python objects; cannot save it")
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    atomic_write(folder / ARRAYS_FILE, lambda fh: np.savez_compressed(fh, **payload))
    atomic_write(folder / META_FILE, json.dumps(meta, indent=1, sort_keys=True))
    return folder


def read_folder(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a folder written by :func:`write_folder`; checks the format and its version."""
    folder = Path(path)
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise KnowledgeBaseError(f"{folder}: not a saved meta-learner (no {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseError(f"{meta_path}: invalid JSON ({exc.msg})") from None
    if meta.get("format") != FORMAT:
        raise KnowledgeBaseError(f"{meta_path}: format {meta.get('format')!r}, not {FORMAT!r}")
    if int(meta.get("format_version", -1)) > FORMAT_VERSION:
        raise KnowledgeBaseError(
            f"{meta_path}: format version {meta.get('format_version')} is newer than this "
            f"metahpo reads ({FORMAT_VERSION}); upgrade metahpo"
        )
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return meta, arrays


def to_jsonable(value: Any) -> Any:
    """Hyperparameter values as JSON (tuples become lists, numpy scalars Python numbers)."""
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
