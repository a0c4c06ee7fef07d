"""Zero-shot that is never a bad bet: the library default first unless the evidence is strong."""

from __future__ import annotations

import numpy as np
import pytest

from metahpo.errors import MetaHPOError
from metahpo.knowledge import Experience, TaskExperience
from metahpo.metalearners import LOSS_AVERSION, GreedyPortfolio, NearestTasks, default_evidence
from metahpo.spaces import get_space

SPACE = get_space("knn", "classification")
DEFAULT = SPACE.default_config()
BOLD = {"n_neighbors": 40, "weights": "distance", "p": 1}
OTHERS = [{"n_neighbors": n, "weights": "uniform", "p": 1} for n in (1, 2, 9, 20, 60)]
CONFIGS = [DEFAULT, BOLD, *OTHERS]
X = np.vstack([SPACE.encode(c) for c in CONFIGS])


def experience(bold_minus_default: list[float]) -> Experience:
    """One task per entry: the default scores 0.80, ``BOLD`` 0.80 + the entry, others 0."""
    tasks = []
    for i, delta in enumerate(bold_minus_default):
        y = np.array([0.80, 0.80 + delta, *(0.0 for _ in OTHERS)])
        tasks.append(
            TaskExperience(
                key=f"t{i}/knn",
                dataset=f"t{i}",
                family="knn",
                task="classification",
                metric="balanced_accuracy",
                direction="maximize",
                metafeatures=np.array([0.01 * i, 0.0]),
                X=X,
                y=y,
            )
        )
    return Experience(tasks=tuple(tasks), metafeature_names=("m0", "m1"))


def test_evidence_is_the_weighted_paired_gain() -> None:
    exp = experience([0.05, 0.01, -0.03])
    d = np.array([0.0, 1.0, 2.0])
    w = np.array([2.0, 1.0, 1.0])
    ev = default_evidence(exp.tasks, d, w, SPACE.encode(BOLD), SPACE.encode(DEFAULT), z=1.0)
    gains = np.array([0.05, 0.01, -0.03])
    weights = w / w.sum()
    mean = float(np.sum(weights * gains))
    sd = float(np.sqrt(np.sum(weights * (gains - mean) ** 2)))
    n_eff = 1.0 / float(np.sum(weights**2))
    assert ev.n == 3
    assert ev.gain == pytest.approx(mean)
    assert ev.lower == pytest.approx(mean - sd / np.sqrt(n_eff))
    # only the nearest task counts with n_tasks=1: one task is no paired evidence
    one = default_evidence(exp.tasks, d, w, SPACE.encode(BOLD), SPACE.encode(DEFAULT), n_tasks=1)
    assert one.n == 1 and not one.favours_default


@pytest.mark.parametrize("learner", [GreedyPortfolio, NearestTasks])
def test_a_consistent_gain_keeps_the_meta_learned_best_first(learner: type) -> None:
    exp = experience([0.04, 0.05, 0.06, 0.05, 0.04, 0.05])
    out = learner().fit(exp).suggest(np.array([0.025, 0.0]), k=3)
    assert out[0].params == BOLD
    assert DEFAULT in [s.params for s in out]


@pytest.mark.parametrize("learner", [GreedyPortfolio, NearestTasks])
def test_an_unreliable_gain_puts_the_default_first(learner: type) -> None:
    # BOLD is best on average over the normalised scores but loses on half the tasks
    exp = experience([0.10, -0.08, 0.10, -0.08, 0.10, -0.08])
    fitted = learner().fit(exp)
    out = fitted.suggest(np.array([0.021, 0.0]), k=3)  # nearest: t2, where BOLD won
    assert out[0].params == DEFAULT
    assert "default first" in out[0].source
    assert out[1].params == BOLD  # the bet is still second
    assert [s.params for s in out].count(DEFAULT) == 1
    assert 0.0 <= out[0].predicted_score <= 1.0


def test_without_the_default_in_the_experience_the_order_stands() -> None:
    exp = experience([0.10, -0.12, 0.11, -0.10])
    keep = [0, *range(1, len(CONFIGS))][1:]  # every configuration but the default
    exp = Experience(
        tasks=tuple(
            TaskExperience(**{**t.__dict__, "X": t.X[keep], "y": t.y[keep]}) for t in exp.tasks
        ),
        metafeature_names=exp.metafeature_names,
    )
    out = GreedyPortfolio().fit(exp).suggest(np.array([0.025, 0.0]), k=2)
    assert out[0].params != DEFAULT and "default" not in out[0].source


def test_runs_on_this_very_dataset_are_the_evidence() -> None:
    # the unreliable experience above, asked for one of its own tasks (a dataset tuned before)
    exp = experience([0.10, -0.08, 0.10, -0.08, 0.10, -0.08])
    learner = GreedyPortfolio().fit(exp)
    won = learner.suggest(np.array([0.02, 0.0]), k=2)  # t2: BOLD beat the default there
    assert won[0].params == BOLD
    lost = learner.suggest(np.array([0.03, 0.0]), k=2)  # t3: the default won there
    assert lost[0].params == DEFAULT


@pytest.mark.parametrize("learner", [GreedyPortfolio, NearestTasks])
def test_a_reliable_smaller_gain_beats_an_unreliable_top_suggestion(learner: type) -> None:
    # BOLD: +0.15 or -0.05 against the default, task by task; SAFE: +0.01 on every task
    deltas = [0.15, -0.05, 0.15, -0.05, 0.15, -0.05]
    exp = experience(deltas)
    safe = OTHERS[2]
    tasks = []
    for t in exp.tasks:
        y = t.y.copy()
        y[CONFIGS.index(safe)] = 0.81
        tasks.append(TaskExperience(**{**t.__dict__, "y": y}))
    exp = Experience(tasks=tuple(tasks), metafeature_names=exp.metafeature_names)
    fitted = learner().fit(exp)
    mf = np.array([0.021, 0.0])
    assert fitted._suggest(mf, fitted.task_space_.distances(mf), 1)[0][0] == BOLD
    out = fitted.suggest(mf, k=3)
    assert out[0].params == safe and "best bet" in out[0].source
    assert out[1].params == BOLD  # the learner's own top-1 is still second
    assert len({str(s.params) for s in out}) == 3


@pytest.mark.parametrize("learner", [GreedyPortfolio, NearestTasks])
def test_loss_aversion_is_an_argument_and_none_turns_the_rule_off(learner: type) -> None:
    exp = experience([0.10, -0.08, 0.10, -0.08, 0.10, -0.08])  # BOLD unreliable
    fitted = learner().fit(exp)
    mf = np.array([0.021, 0.0])

    def firsts(**kw: object) -> list[object]:
        return [s.params for s in fitted.suggest(mf, k=3, **kw)]

    assert firsts() == firsts(loss_aversion=LOSS_AVERSION)
    assert firsts()[0] == DEFAULT  # the rule as shipped
    raw = firsts(loss_aversion=None)
    assert raw[0] == BOLD  # the learner's own order, the rule off
    assert raw == [p for p, _ in fitted._suggest(mf, fitted.task_space_.distances(mf), 3)]
    # mean gain +0.01 on these tasks: a bet when losses weigh no more than gains
    assert firsts(loss_aversion=0.0)[0] == BOLD


@pytest.mark.parametrize("bad", ["high", -1.0, float("nan"), True])
def test_a_bad_loss_aversion_is_one_line(bad: object) -> None:
    fitted = GreedyPortfolio().fit(experience([0.05, 0.01, -0.03]))
    with pytest.raises(MetaHPOError, match=r"^GreedyPortfolio.suggest: 'loss_aversion' must be"):
        fitted.suggest(np.array([0.0, 0.0]), k=1, loss_aversion=bad)  # type: ignore[arg-type]
