"""Replay benchmark cache: ``runs.jsonl`` and ``settings.json`` in the output folder.

Runs are appended to ``runs.jsonl`` as they finish (one JSON object a line, ``kind`` ``run``,
``fit`` or ``error``), and a rerun with the same settings skips every (method, dataset, family,
seed) already there. ``settings.json`` holds the fingerprint of the settings and experience
(:func:`~metahpo_bench._replay_plan.fingerprint`); a folder made with others is refused. Failed
runs are written down but not read back, so a rerun retries them; a line cut short by an
interruption is skipped, and its run is simply redone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from metahpo.errors import MetaHPOError
from metahpo_bench._replay_records import ErrorRecord, FitRecord, RunRecord

RUNS_FILE = "runs.jsonl"
SETTINGS_FILE = "settings.json"


def open_cache(
    out: Path, expected: dict[str, Any], *, fresh: bool = False
) -> tuple[list[RunRecord], list[FitRecord]]:
    """Create ``out``, read the runs and fits cached there, and record ``expected``.

    Args:
        out: The output folder.
        expected: The fingerprint the cached runs must have been made with.
        fresh: Discard the cached runs instead of reading them.

    Raises:
        MetaHPOError: ``out`` holds runs made with another fingerprint.
    """
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        (out / RUNS_FILE).unlink(missing_ok=True)
    cached = read_cache(out, expected)
    (out / SETTINGS_FILE).write_text(json.dumps(expected, indent=1), encoding="utf-8")
    return cached


def read_cache(out: Path, expected: dict[str, Any]) -> tuple[list[RunRecord], list[FitRecord]]:
    """The runs and fits cached in ``out`` (none without ``runs.jsonl``), checked against
    ``expected``."""
    settings_path = out / SETTINGS_FILE
    runs_path = out / RUNS_FILE
    if not runs_path.exists():
        return [], []
    if settings_path.exists():
        stored = json.loads(settings_path.read_text(encoding="utf-8"))
        if stored != expected:
            diff = sorted(k for k in expected if stored.get(k) != expected[k])
            raise MetaHPOError(
                f"{out} holds runs made with other settings or another experience "
                f"({', '.join(diff)} differ); use another output folder or start afresh "
                "(metahpo-bench --fresh)"
            )
    runs: list[RunRecord] = []
    fits: list[FitRecord] = []
    for line in runs_path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            if entry.get("kind") == "error":
                continue  # failed runs are retried
            if entry.get("kind") == "fit":
                fits.append(
                    FitRecord(
                        str(entry["method"]),
                        int(entry["fold"]),
                        str(entry["family"]),
                        str(entry["task"]),
                        float(entry["seconds"]),
                    )
                )
            else:
                runs.append(RunRecord.from_json_dict(entry))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a line cut short by an interruption: the run is simply redone
    return runs, fits


def cache_line(kind: str, record: RunRecord | FitRecord | ErrorRecord) -> str:
    """One ``runs.jsonl`` line (newline included) for a record of ``kind``."""
    body = record.to_json_dict() if isinstance(record, RunRecord) else asdict(record)
    return json.dumps({"kind": kind, **body}) + "\n"


def latest(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """One record per key (the last one, should a key appear twice in the cache)."""
    by_key = {r.key: r for r in runs}
    return sorted(by_key.values(), key=lambda r: (r.method, r.family, r.dataset, r.seed))
