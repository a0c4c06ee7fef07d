"""Continual meta-learning: a finished ``tune`` run improves the next zero-shot suggestion.

The dataset is a 2-D checkerboard, unlike the bundled datasets: its best kNN configurations
(very few neighbours, distance weighting) are not what similar-looking past tasks suggest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metahpo.datasets import Dataset
from metahpo.evaluation import evaluate
from metahpo.knowledge import Experience, KnowledgeStore, from_store, load_bundled
from metahpo.metalearners import Suggestion, suggest_for_dataset, with_metafeatures
from metahpo.tuning import TuneResult, tune

FOLDS = 3

#: The bundled knn classification datasets when this test was written. "Before" learns from
#: these only, so that the comparison does not shift as the bundle grows (a larger bundle may
#: suggest better for a checkerboard too; the test is about what one finished run adds).
PINNED = (
    "analcatdata_asbestos",
    "analcatdata_bankruptcy",
    "analcatdata_boxing1",
    "analcatdata_boxing2",
    "analcatdata_creditscore",
    "analcatdata_cyyoung8092",
    "analcatdata_cyyoung9302",
    "analcatdata_fraud",
    "analcatdata_germangss",
    "analcatdata_happiness",
    "analcatdata_japansolvent",
    "analcatdata_lawsuit",
    "appendicitis",
    "backache",
    "balance_scale",
    "biomed",
    "bupa",
    "cars",
    "cloud",
    "collins",
    "confidence",
    "corral",
    "ecoli",
    "flags",
    "haberman",
    "hayes_roth",
    "hepatitis",
    "iris",
    "irish",
    "krkopt",
    "labor",
    "led7",
    "magic",
    "mofn_3_7_10",
    "molecular_biology_promoters",
    "monk1",
    "monk2",
    "monk3",
    "mux6",
    "new_thyroid",
    "nursery",
    "penguins",
    "phoneme",
    "postoperative_patient_data",
    "prnn_crabs",
    "prnn_synth",
    "profb",
    "schizo",
    "shuttle",
    "sleep",
    "sonar",
    "soybean",
    "spect",
    "spectf",
    "tae",
    "vehicle",
    "wine_quality_red",
    "wine_quality_white",
    "wine_recognition",
    "xd6",
    "yeast",
)


def checkerboard(n: int = 300, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 4.0, size=(n, 2))
    y = ((np.floor(X[:, 0]) + np.floor(X[:, 1])) % 2).astype(int)
    labels = np.array(["white", "black"], dtype=object)[y]
    return Dataset("checkerboard", pd.DataFrame(X, columns=["u", "v"]), labels, "classification")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Experience, str, TuneResult]:
    full = load_bundled()
    bundled = full.select(datasets=[d for d in PINNED if d in full.datasets])
    if not with_metafeatures(bundled.select(family="knn", task="classification")).tasks:
        pytest.skip("the bundled experience has no knn classification task yet")
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('continual')) / 'store.db'}"
    ds = checkerboard()
    result = tune(ds, "knn", budget=10, storage=url, folds=FOLDS, warm_start=4, experience=bundled)
    return ds, bundled, url, result


def true_score(ds: Dataset, s: Suggestion) -> float:
    return float(evaluate(ds, "knn", s.params, folds=FOLDS, seed=0).value)


@pytest.mark.parametrize("strategy", ["portfolio", "nearest"])
def test_a_finished_run_improves_the_next_first_suggestion(
    run: tuple[Dataset, Experience, str, TuneResult], strategy: str
) -> None:
    ds, bundled, url, result = run
    before = suggest_for_dataset(ds, "knn", k=1, strategy=strategy, experience=bundled)[0]
    after_experience = bundled + from_store(KnowledgeStore(url), bundled.metafeature_names)
    after = suggest_for_dataset(ds, "knn", k=1, strategy=strategy, experience=after_experience)[0]
    # the run is now the nearest task, and an exact match
    assert after.neighbors[0] == (ds.name, pytest.approx(1.0))
    assert after.confidence == 1.0
    assert after.confidence >= before.confidence
    # and what it learnt is better than what the bundled experience alone suggested
    assert true_score(ds, after) > true_score(ds, before)
    assert true_score(ds, after) >= np.median([t["value"] for t in result.trials])
