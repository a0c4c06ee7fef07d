"""Meta-learners on hand-built experience where the right answer is known, and their artifacts.

The main experience is synthetic: twelve kNN classification tasks whose best ``n_neighbors``
grows with the first meta-feature ``m0`` (the second, ``m1``, is noise), evaluated on a shared
design of 28 configurations. ``distance`` weighting and the Manhattan metric always cost a
little, so the best configuration of a task is known exactly.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from metahpo.datasets import Dataset
from metahpo.errors import KnowledgeBaseError
from metahpo.knowledge import Experience, TaskExperience, load_bundled
from metahpo.metalearners import (
    STRATEGIES,
    ConfigMapping,
    GreedyPortfolio,
    MetaLearner,
    NearestTasks,
    PerformanceSurrogate,
    ScoreTable,
    fit_strategy,
    metafeature_array,
    suggest_for_dataset,
    with_metafeatures,
)
from metahpo.spaces import get_space

SPACE = get_space("knn", "classification")
NAMES = ("m0", "m1")
M0 = np.linspace(-1.0, 1.0, 12)
DESIGN = [
    {"n_neighbors": n, "weights": w, "p": p}
    for n in (1, 2, 4, 8, 16, 32, 64)
    for w in ("uniform", "distance")
    for p in (1, 2)
]
X_DESIGN = np.vstack([SPACE.encode(c) for c in DESIGN])


def best_unit(m0: float) -> float:
    """Unit-cube position of the best ``n_neighbors`` for a task (monotone in ``m0``)."""
    return float(np.clip((m0 + 1.0) / 2.0, 0.0, 1.0))


def true_score(m0: float, x: np.ndarray) -> float:
    """Score of an encoded configuration ``x`` = (n_neighbors, uniform, distance, p=1, p=2)."""
    return float(0.9 - 2.0 * (x[0] - best_unit(m0)) ** 2 - 0.05 * x[2] - 0.03 * x[3])


def task(name: str, m0: float, m1: float, X: np.ndarray = X_DESIGN) -> TaskExperience:
    y = np.array([true_score(m0, x) for x in X])
    return TaskExperience(
        key=f"{name}/knn",
        dataset=name,
        family="knn",
        task="classification",
        metric="balanced_accuracy",
        direction="maximize",
        metafeatures=np.array([m0, m1]),
        X=X,
        y=y,
    )


#: Strategies that need the torch extra when fitted.
TORCH_STRATEGIES = {"neural", "nearest-ae"}


@pytest.fixture(
    params=[
        pytest.param(s, marks=pytest.mark.torch) if s in TORCH_STRATEGIES else s
        for s in sorted(STRATEGIES)
    ]
)
def strategy(request: pytest.FixtureRequest) -> str:
    """Every strategy name (the torch ones skip without torch)."""
    if request.param in TORCH_STRATEGIES:
        pytest.importorskip("torch")
    return str(request.param)


@pytest.fixture(scope="module")
def experience() -> Experience:
    rng = np.random.default_rng(0)
    tasks = tuple(task(f"t{i}", m, float(rng.normal(0, 0.1))) for i, m in enumerate(M0))
    return Experience(tasks, NAMES, "test")


def best_design_config(m0: float) -> dict[str, Any]:
    scores = [true_score(m0, x) for x in X_DESIGN]
    return DESIGN[int(np.argmax(scores))]


def regret(m0: float, params: dict[str, Any]) -> float:
    best = max(true_score(m0, x) for x in X_DESIGN)
    return best - true_score(m0, SPACE.encode(params))


# -- the contract every strategy meets ------------------------------------------------------
def test_suggestions_are_distinct_valid_and_explained(
    strategy: str, experience: Experience
) -> None:
    learner = STRATEGIES[strategy]().fit(experience)
    target = experience.tasks[4].metafeatures + np.array([0.01, 0.0])
    out = learner.suggest(target, k=6)
    assert len(out) == 6
    keys = {json.dumps(s.params, sort_keys=True) for s in out}
    assert len(keys) == 6
    for s in out:
        assert SPACE.validate(s.params) == s.params
        assert s.source == strategy
        assert np.isfinite(s.predicted_score)
        # the why: the nearest training task first, most similar first
        assert s.neighbors[0][0] == "t4"
        sims = [sim for _, sim in s.neighbors]
        assert sims == sorted(sims, reverse=True) and 0 < sims[0] <= 1
    # zero-shot quality: the first suggestion is close to the task's optimum
    assert regret(M0[4], out[0].params) < 0.05


def test_confidence_falls_out_of_distribution(strategy: str, experience: Experience) -> None:
    learner = STRATEGIES[strategy]().fit(experience)
    near = learner.suggest(experience.tasks[3].metafeatures, k=1)[0]
    far = learner.suggest(np.array([60.0, -40.0]), k=1)[0]
    assert near.confidence == 1.0
    assert far.confidence < 0.1
    assert learner.task_space_ is not None
    assert learner.task_space_.out_of_distribution(
        learner.task_space_.distances(np.array([60.0, -40.0]))
    )


# -- each strategy on a case with a known answer --------------------------------------------
def test_nearest_returns_the_nearest_tasks_best_first(experience: Experience) -> None:
    learner = NearestTasks().fit(experience)
    assert learner.task_space_ is not None
    for i in (1, 6, 10):
        target = experience.tasks[i].metafeatures + np.array([0.02, 0.0])
        out = learner.suggest(target, k=3)
        assert out[0].params == best_design_config(M0[i])
        assert out[0].neighbors[0][0] == f"t{i}"
        # then the best configurations of the next nearest tasks, without repeats
        order = np.argsort(learner.task_space_.distances(target))
        expected: list[dict[str, Any]] = []
        for j in order:
            best = best_design_config(M0[j])
            if best not in expected:
                expected.append(best)
        assert [s.params for s in out] == expected[:3]


def test_portfolio_is_greedy_not_a_ranking() -> None:
    # normalised scores (raw = normalised here: each task has a 0 at or below its 10th pct)
    configs = {  # name: (n_neighbors, scores on tasks a, b, c)
        "C": (1, (0.8, 0.8, 0.8)),  # good everywhere: best mean
        "A": (4, (1.0, 1.0, 0.0)),  # best on a and b
        "A2": (8, (0.98, 0.98, 0.1)),  # almost A, better mean than A, but redundant with it
        "B": (16, (0.0, 0.0, 1.0)),  # only good on c
        "E": (64, (0.0, 0.0, 0.0)),  # bad
    }
    X = np.vstack(
        [
            SPACE.encode({"n_neighbors": n, "weights": "uniform", "p": 2})
            for n, _ in configs.values()
        ]
    )
    tasks = []
    for j, name in enumerate("abc"):
        y = np.array([scores[j] for _, scores in configs.values()])
        tasks.append(
            TaskExperience(
                f"{name}/knn",
                name,
                "knn",
                "classification",
                "balanced_accuracy",
                "maximize",
                np.array([float(j), 0.0]),
                X,
                y,
            )
        )
    exp = Experience(tuple(tasks), NAMES)
    table = ScoreTable.build(exp, SPACE)
    np.testing.assert_allclose(table.S, np.array([s for _, s in configs.values()]).T)
    out = GreedyPortfolio(n_tasks=None).fit(exp).suggest(np.array([1.5, 0.3]), k=3)
    picked = [s.params["n_neighbors"] for s in out]
    # greedy: C (mean 0.8), then A (mean of the max 0.933 > A2 0.92 > B 0.867), then B (1.0);
    # ranking by mean would give C, A2, A.
    assert picked == [1, 4, 16]
    assert [round(s.predicted_score, 6) for s in out] == [0.8, round(2 / 3, 6), round(1 / 3, 6)]
    # a task with exactly these meta-features was tuned before: its own best comes first
    for n_tasks in (None, 2):
        again = GreedyPortfolio(n_tasks=n_tasks).fit(exp).suggest(np.array([2.0, 0.0]), k=2)
        assert [s.params["n_neighbors"] for s in again] == [16, 4]  # B (best on c), then A


def test_portfolio_conditions_on_the_neighbours(experience: Experience) -> None:
    low = GreedyPortfolio(n_tasks=3).fit(experience).suggest(np.array([-1.0, 0.0]), k=1)[0]
    high = GreedyPortfolio(n_tasks=3).fit(experience).suggest(np.array([1.0, 0.0]), k=1)[0]
    assert low.params["n_neighbors"] < high.params["n_neighbors"]
    assert regret(-1.0, low.params) < 0.1 and regret(1.0, high.params) < 0.1


def test_surrogate_ranks_configurations_of_an_unseen_task(experience: Experience) -> None:
    learner = PerformanceSurrogate(n_random=64).fit(experience)
    for m0 in (-0.55, 0.1, 0.65):  # between training tasks
        pred = learner.predict(np.array([m0, 0.0]), X_DESIGN)
        truth = [true_score(m0, x) for x in X_DESIGN]
        assert spearmanr(pred, truth).statistic > 0.8
        top = learner.suggest(np.array([m0, 0.0]), k=1)[0]
        assert regret(m0, top.params) < 0.05


def test_mapping_learns_a_monotone_map(experience: Experience) -> None:
    learner = ConfigMapping().fit(experience)
    m0s = np.linspace(-0.9, 0.9, 7)
    firsts = [learner.suggest(np.array([m, 0.0]), k=1)[0].params for m in m0s]
    ks = [p["n_neighbors"] for p in firsts]
    assert all(a <= b for a, b in itertools.pairwise(ks)), ks
    assert ks[-1] >= 8 * ks[0]
    assert all(p["weights"] == "uniform" and p["p"] == 2 for p in firsts)
    for m, p in zip(m0s, firsts, strict=True):
        assert regret(float(m), p) < 0.1
    assert learner.shrink_ > 0.5  # cross-validation trusts a map that generalises


def test_mapping_falls_back_to_the_mean_when_metafeatures_say_nothing() -> None:
    # the best n_neighbors depends on a hidden variable, the meta-features are noise
    rng = np.random.default_rng(3)
    hidden = rng.uniform(-1, 1, size=12)
    tasks = []
    for i, h in enumerate(hidden):
        t = task(f"h{i}", float(h), 0.0)
        tasks.append(TaskExperience(**{**t.__dict__, "metafeatures": rng.normal(size=2)}))
    learner = ConfigMapping().fit(Experience(tuple(tasks), NAMES))
    assert learner.shrink_ < 0.3
    mean = ConfigMapping()._targets(Experience(tuple(tasks), NAMES)).mean(axis=0)
    for target in (np.array([3.0, -3.0]), np.array([-2.0, 0.5])):
        assert np.abs(learner.predict_encoded(target) - mean).max() < 0.3


def test_update_adds_a_run(experience: Experience) -> None:
    learner = NearestTasks().fit(experience.select(exclude=["t11"]))
    target = experience.tasks[11].metafeatures
    before = learner.suggest(target, k=1)[0]
    learner.update(experience.tasks[11])
    after = learner.suggest(target, k=1)[0]
    assert after.neighbors[0][0] == "t11" and after.confidence == 1.0
    assert regret(M0[11], after.params) <= regret(M0[11], before.params)
    assert after.params == best_design_config(M0[11])


def test_fit_rejects_mixed_or_empty_experience(experience: Experience) -> None:
    other = TaskExperience(
        "x/rf",
        "x",
        "rf",
        "classification",
        "balanced_accuracy",
        "maximize",
        np.array([0.0, 1.0]),
        np.zeros((1, get_space("rf", "classification").encoded_dim)),
        np.array([0.5]),
    )
    with pytest.raises(KnowledgeBaseError, match="one family"):
        NearestTasks().fit(Experience((*experience.tasks, other), NAMES))
    with pytest.raises(KnowledgeBaseError):
        NearestTasks().fit(Experience((), NAMES))
    with pytest.raises(KnowledgeBaseError, match="not fitted"):
        NearestTasks().suggest(np.zeros(2))


def test_tasks_without_metafeatures_are_left_out(experience: Experience) -> None:
    blank = task("blank", 0.0, 0.0)
    blank = TaskExperience(**{**blank.__dict__, "metafeatures": np.zeros(2)})
    mixed = Experience((*experience.tasks, blank), NAMES)
    assert [t.dataset for t in with_metafeatures(mixed).tasks] == [f"t{i}" for i in range(12)]
    learner = fit_strategy(mixed, "knn", "classification", "nearest")
    assert learner.experience_ is not None and len(learner.experience_) == 12
    np.testing.assert_array_equal(metafeature_array({"m1": 2.0, "m0": np.nan}, NAMES), [0.0, 2.0])


# -- artifacts ------------------------------------------------------------------------------
def test_save_load_round_trip_gives_identical_suggestions(
    strategy: str, experience: Experience, tmp_path: Path
) -> None:
    params: dict[str, Any] = {"n_random": 32} if strategy == "surrogate" else {}
    learner = STRATEGIES[strategy](**params).fit(experience)
    folder = learner.save(tmp_path / strategy)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "meta.json"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["class"] == type(learner).__name__ and meta["family"] == "knn"
    assert meta["metafeature_names"] == list(NAMES)
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    loaded = MetaLearner.load(folder)
    assert type(loaded) is type(learner)
    assert loaded.get_params() == learner.get_params()
    for target in (np.array([0.33, 0.05]), np.array([-0.8, 0.0]), np.array([9.0, 3.0])):
        assert loaded.suggest(target, k=5) == learner.suggest(target, k=5)
    # a loaded learner can still learn
    extra = task("new", 0.0, 0.5)
    assert loaded.update(extra).suggest(extra.metafeatures, k=1)[0].neighbors[0][0] == "new"


def test_load_checks_class_format_and_space(experience: Experience, tmp_path: Path) -> None:
    folder = NearestTasks().fit(experience).save(tmp_path / "nearest")
    assert isinstance(NearestTasks.load(folder), NearestTasks)
    with pytest.raises(KnowledgeBaseError, match="not a GreedyPortfolio"):
        GreedyPortfolio.load(folder)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "space_signature": "knn/old"}))
    with pytest.raises(KnowledgeBaseError, match="fit the meta-learner again"):
        MetaLearner.load(folder)
    (folder / "meta.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(KnowledgeBaseError, match="upgrade metahpo"):
        MetaLearner.load(folder)
    with pytest.raises(KnowledgeBaseError, match="not a saved meta-learner"):
        MetaLearner.load(tmp_path / "missing")
    with pytest.raises(KnowledgeBaseError, match="not fitted"):
        NearestTasks().save(tmp_path / "unfitted")


def test_mapping_artifact_holds_the_network_weights(experience: Experience, tmp_path: Path) -> None:
    learner = ConfigMapping(hidden=(8,)).fit(experience)
    folder = learner.save(tmp_path / "mapping")
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        assert npz["state__coef_0"].shape == (2, 8) and npz["state__coef_1"].shape == (8, 5)
    loaded = ConfigMapping.load(folder)
    target = np.array([0.2, 0.0])
    np.testing.assert_array_equal(loaded.predict_encoded(target), learner.predict_encoded(target))


# -- the library function behind ``metahpo suggest`` ----------------------------------------
def test_suggest_for_dataset_on_real_data(tiny_clf: Dataset) -> None:
    bundled = load_bundled()
    if not with_metafeatures(bundled.select(family="knn", task="classification")).tasks:
        pytest.skip("the bundled experience has no knn classification task yet")
    out = suggest_for_dataset(tiny_clf, "knn", k=4, experience=bundled)
    assert 1 <= len(out) <= 4
    assert len({json.dumps(s.params, sort_keys=True) for s in out}) == len(out)
    for s in out:
        assert SPACE.validate(s.params) == s.params
        assert 0 <= s.confidence <= 1 and s.neighbors
        assert set(s.to_json_dict()) >= {"params", "predicted_score", "confidence", "neighbors"}


def test_suggest_for_dataset_without_experience_gives_the_default(tiny_clf: Dataset) -> None:
    out = suggest_for_dataset(tiny_clf, "svm", k=3, experience=Experience((), NAMES))
    assert [s.params for s in out] == [get_space("svm", "classification").default_config()]
    assert out[0].confidence == 0.0 and out[0].source == "default"


def test_suggest_for_dataset_uses_given_metafeatures(
    tiny_clf: Dataset, experience: Experience
) -> None:
    for i in (0, 11):
        mf = dict(zip(NAMES, experience.tasks[i].metafeatures, strict=True))
        out = suggest_for_dataset(
            tiny_clf, "knn", k=2, strategy="nearest", experience=experience, metafeatures=mf
        )
        assert out[0].params == best_design_config(M0[i])
        assert out[0].neighbors[0] == (f"t{i}", 1.0)


# -- ``metahpo suggest`` ---------------------------------------------------------------------
def test_cli_suggest_json_and_table(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metahpo.cli import main

    assert main(["suggest", str(data_dir / "iris"), "--model", "knn", "-k", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert 1 <= len(printed) <= 3
    for item in printed:
        assert {"params", "predicted_score", "confidence", "neighbors"} <= set(item)
        assert SPACE.validate(item["params"]) == item["params"]
    assert main(["suggest", str(data_dir / "iris"), "--model", "knn", "-k", "2"]) == 0
    table = capsys.readouterr().out
    assert "n_neighbors=" in table and "confidence" in table and "similarity" in table


def test_cli_suggest_learns_from_the_users_store(
    data_dir: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from metahpo.cli import main
    from metahpo.datasets import load_dataset
    from metahpo.tuning import tune

    iris = load_dataset(data_dir / "iris")
    result = tune(iris, "knn", budget=4, storage=sqlite_url, folds=2, optimizer="random")
    args = ["suggest", str(data_dir / "iris"), "--model", "knn", "-k", "1", "--json"]
    code = main([*args, "--strategy", "nearest", "--storage", sqlite_url])
    assert code == 0
    first = json.loads(capsys.readouterr().out)[0]
    assert first["neighbors"][0] == {"dataset": "iris", "similarity": 1.0}
    assert first["confidence"] == 1.0
    if not any(t.dataset == "iris" for t in load_bundled().tasks):  # else the bundle's own
        assert first["params"] == result.best_params


def test_cli_suggest_rejects_bad_options(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metahpo.cli import main

    args = ["suggest", str(data_dir / "iris"), "--model", "knn"]
    assert main([*args, "--strategy", "oracle"]) == 2
    assert "unknown strategy 'oracle'" in capsys.readouterr().err
    assert main([*args, "-k", "0"]) == 2
    assert "-k must be at least 1" in capsys.readouterr().err


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCH_STRATEGIES))
def test_torch_strategies_drive_the_meta_sampler(name: str, experience: Experience) -> None:
    """`--strategy neural|nearest-ae`: warm starts near the optimum, the guard in the usual
    meta-feature space (the autoencoder only re-ranks neighbours)."""
    pytest.importorskip("torch")
    from metahpo.optimizers import make_meta_sampler

    near = make_meta_sampler(
        experience.tasks[7].metafeatures,
        "knn",
        "classification",
        experience=experience,
        strategy=name,
        n_warm_start=4,
    )
    assert not near.out_of_distribution and near.confidence == 1.0
    assert min(regret(M0[7], c) for c in near.sampler.warm_start) < 0.05
    far = make_meta_sampler(
        np.array([60.0, -40.0]), "knn", "classification", experience=experience, strategy=name
    )
    assert far.out_of_distribution and far.sampler.warm_start[0] == SPACE.default_config()


@pytest.mark.torch
def test_torch_learners_leave_the_users_thread_setting_alone(experience: Experience) -> None:
    torch = pytest.importorskip("torch")
    from metahpo.metalearners._torch import one_thread

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []

        @one_thread
        def inner() -> None:
            seen.append(torch.get_num_threads())

        @one_thread
        def outer() -> None:
            inner()  # nested: still one thread, and the outer call restores
            seen.append(torch.get_num_threads())

        outer()
        STRATEGIES["nearest-ae"]().fit(experience)
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
