"""The settings that define a tuning run, frozen, stored with its study and compared on resume.

Scores of a study are only comparable when every trial was evaluated the same way: with the
same folds (count and seed), the same metric, the same search space and rows, and proposed by
the same optimizer. :class:`RunSettings` is that definition. :func:`~metahpo.tuning.tune`
stores it in the study (user attribute :data:`SETTINGS_ATTR`) on the first run; a later run on
the same study with different settings is refused with an error that names each difference,
unless the caller explicitly allows it (``allow_changed_settings=True``, CLI
``--allow-changed-settings``), in which case the study's record becomes the new settings.

The search space and the rows are never allowed to change (:data:`FIXED`): they define the task
the study's trials are experience for (its task record), so a study holds one; another space or
other rows need a new study.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from metahpo.errors import MetaHPOError

#: Study user attribute holding the :class:`RunSettings` JSON.
SETTINGS_ATTR = "metahpo:run_settings"
#: Layout version of :class:`RunSettings`.
SETTINGS_SCHEMA = 1
#: Settings that ``allow_changed_settings`` cannot change, and what each is called.
FIXED = {"space_signature": "another search space", "n_rows": "other rows"}


@dataclass(frozen=True)
class RunSettings:
    """What defines one tuning run: trials with other settings are not comparable.

    Attributes:
        metric: The objective's metric.
        direction: ``"maximize"`` or ``"minimize"``.
        folds: Cross-validation folds; 1: one 20 % holdout split.
        seed: Seed of the folds, the models and the sampler.
        space_signature: ``SearchSpace.signature`` of the search space.
        n_rows: Rows evaluated (a row subsample gives another run).
        optimizer: ``"meta"``, a classic optimizer name or a sampler's class name.
        base: Refining sampler after the warm start (``optimizer == "meta"`` only).
        strategy: Meta-learner of the warm start (``optimizer == "meta"`` only).
        fidelity: ``"auto"`` (low fidelities on large data, :mod:`metahpo.tuning._fidelity`)
            or ``"none"``; settings stored by earlier versions read as ``"none"``.
        base_options: The base's options given (``base_options`` of
            :func:`~metahpo.optimizers.make_meta_sampler`), as sorted ``(name, value)`` pairs;
            a JSON object in the study. Empty: each option its default. Settings stored by
            earlier versions with ``transfer`` read as the ``transfer`` base's ``n_transfer``
            (or none, for ``None`` or a study stored before either existed).
        schema: Layout version.
    """

    metric: str
    direction: str
    folds: int
    seed: int
    space_signature: str
    n_rows: int
    optimizer: str
    base: str | None = None
    strategy: str | None = None
    base_options: tuple[tuple[str, int | bool], ...] = ()
    fidelity: str = "none"
    schema: int = SETTINGS_SCHEMA

    @staticmethod
    def options_tuple(options: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
        """``options`` as :attr:`base_options` holds them: sorted ``(name, value)`` pairs."""
        return tuple(sorted((options or {}).items()))

    def to_json(self) -> str:
        data = asdict(self)
        data["base_options"] = dict(self.base_options)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSettings:
        try:
            data: dict[str, Any] = json.loads(text)
            known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
            if "base_options" not in data and data.get("transfer") is not None:
                known["base_options"] = {"n_transfer": data["transfer"]}  # an earlier version's
            known["base_options"] = cls.options_tuple(known.get("base_options"))
            return cls(**known)
        except (TypeError, ValueError, AttributeError) as exc:
            raise MetaHPOError(f"unreadable run settings in the study: {exc}") from None

    def options_text(self) -> str:
        """:attr:`base_options` for a message: ``n_transfer=3``, or ``none``."""
        return ", ".join(f"{k}={v}" for k, v in self.base_options) or "none"

    def differences(self, other: RunSettings) -> list[str]:
        """``"name: mine -> other's"`` for every defining setting that differs."""
        out = []
        for f in fields(self):
            if f.name == "schema":
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "base_options":
                a, b = self.options_text(), other.options_text()
            if a != b:
                out.append(f"{f.name} {a} -> {b}")
        return out

    def describe(self) -> str:
        """One line for summaries, e.g. ``"3-fold CV, balanced_accuracy, meta (portfolio,
        then transfer)"``, with the base's options when given (``then transfer with
        n_transfer=3``)."""
        how = self.optimizer
        if self.optimizer == "meta":
            options = f" with {self.options_text()}" if self.base_options else ""
            how = f"meta ({self.strategy}, then {self.base}{options})"
        fidelity = ", low fidelities where the data is large" if self.fidelity == "auto" else ""
        return f"{self.validation()}, {self.metric}, {how}{fidelity}"

    def validation(self) -> str:
        """``"5-fold CV"``, or ``"20 % holdout"`` (``folds`` 1)."""
        return "20 % holdout" if self.folds == 1 else f"{self.folds}-fold CV"


def check_resume(
    study_name: str, stored: RunSettings | None, wanted: RunSettings, allow_changes: bool
) -> list[str]:
    """The differences between a study's ``stored`` settings and the ``wanted`` ones.

    Raises:
        MetaHPOError: When they differ and ``allow_changes`` is false, the message naming
            each difference and how to go on; or when the search space or the rows differ
            (:data:`FIXED`), whatever ``allow_changes`` says.
    """
    if stored is None:
        return []
    fixed = [
        FIXED[f.name] for f in fields(stored) if f.name in FIXED
        and getattr(stored, f.name) != getattr(wanted, f.name)
    ]  # fmt: skip
    if fixed:
        raise MetaHPOError(
            f"study {study_name!r} was run with {' and '.join(fixed)}: a study "
            "holds one task (data and search space), also with --allow-changed-settings; "
            "choose a new --study name"
        )
    diffs = stored.differences(wanted)
    if diffs and not allow_changes:
        raise MetaHPOError(
            f"study {study_name!r} was run with other settings ({'; '.join(diffs)}): its scores "
            "would not be comparable; choose a new --study name, or pass "
            "--allow-changed-settings to continue it anyway"
        )
    return diffs
