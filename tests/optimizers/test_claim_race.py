"""A claim written while another worker claims the same configuration is given up.

Two workers that choose at the same moment cannot see each other's claim; each writes its own
and reads the study again, and the one that sees the other yields. These tests stage the race
deterministically: the rival's claim appears between a sampler's read and its write.
"""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.storages import InMemoryStorage

from metahpo.optimizers import MetaSampler, RandomProposer, _view
from metahpo.optimizers._view import PROPOSAL_ATTR, WARM_ATTR, WARM_CONFIG_ATTR
from metahpo.spaces import get_space
from metahpo.tuning._sampler import suggest_config

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study() -> tuple[optuna.Study, InMemoryStorage]:
    storage = InMemoryStorage()
    return optuna.create_study(storage=storage, direction="maximize"), storage


def _rival(study: optuna.Study, storage: InMemoryStorage) -> int:
    """A running trial of 'another worker' that holds a proposal claim (not x=0.1 yet)."""
    trial = study.ask()
    storage.set_trial_system_attr(trial._trial_id, PROPOSAL_ATTR, {"x": 0.9})
    return trial._trial_id


def test_a_warm_start_claimed_meanwhile_is_given_up_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study, storage = _study()
    rival_id = _rival(study, storage)
    real = _view.set_trial_attr
    raced: list[bool] = []

    def racing(study_: optuna.Study, trial: Any, key: str, value: Any) -> None:
        if key == WARM_CONFIG_ATTR and not raced:  # the rival claims the same, just now
            raced.append(True)
            storage.set_trial_system_attr(rival_id, PROPOSAL_ATTR, {"x": 0.1})
        real(study_, trial, key, value)

    monkeypatch.setattr(_view, "set_trial_attr", racing)
    study.sampler = MetaSampler([{"x": 0.1}, {"x": 0.5}], seed=0)
    trial = study.ask()
    x = trial.suggest_float("x", 0.0, 1.0)
    attrs = storage.get_trial(trial._trial_id).system_attrs
    assert raced == [True]
    assert x == 0.5  # the rival keeps 0.1; this trial took the next warm start
    assert attrs[WARM_CONFIG_ATTR]["params"] == {"x": 0.5} and attrs[WARM_ATTR] == 1


def test_a_warm_start_not_raced_is_kept_on_the_first_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study, storage = _study()
    _rival(study, storage)
    writes: list[str] = []
    real = _view.set_trial_attr

    def counting(study_: optuna.Study, trial: Any, key: str, value: Any) -> None:
        writes.append(key)
        real(study_, trial, key, value)

    monkeypatch.setattr(_view, "set_trial_attr", counting)
    study.sampler = MetaSampler([{"x": 0.1}, {"x": 0.5}], seed=0)
    trial = study.ask()
    assert trial.suggest_float("x", 0.0, 1.0) == 0.1
    assert writes == [WARM_CONFIG_ATTR, WARM_ATTR]  # written once, never withdrawn


def test_a_proposal_claimed_meanwhile_is_withdrawn_and_chosen_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study, storage = _study()
    rival_id = _rival(study, storage)
    real = _view.set_trial_attr
    writes: list[Any] = []

    def racing(study_: optuna.Study, trial: Any, key: str, value: Any) -> None:
        if key == PROPOSAL_ATTR and not writes:  # the rival claims the same, just now
            storage.set_trial_system_attr(rival_id, PROPOSAL_ATTR, value)
        writes.append(value)
        real(study_, trial, key, value)

    monkeypatch.setattr(_view, "set_trial_attr", racing)
    space = get_space("knn", "classification")
    study.sampler = RandomProposer(space, seed=0)
    trial = study.ask()
    params = suggest_config(trial, space)
    lost, withdrawn, kept = writes
    assert withdrawn is None and kept != lost  # gave up the raced claim, then chose anew
    assert storage.get_trial(trial._trial_id).system_attrs[PROPOSAL_ATTR] == kept
    assert storage.get_trial(rival_id).system_attrs[PROPOSAL_ATTR] == lost
    assert params == space.validate(kept)
