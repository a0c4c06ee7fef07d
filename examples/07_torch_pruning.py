"""Your own PyTorch training loop, epochs as the fidelity: MetaSampler + HyperbandPruner.

A small PyTorch MLP (learning rate, batch size, width, depth) is trained epoch by epoch; after
each epoch the objective reports the validation score (``trial.report``) and asks whether to
stop (``trial.should_prune``), so Optuna's HyperbandPruner stops unpromising configurations
after 1, 3 or 9 of the 27 epochs. The sampler is metahpo's MetaSampler, which learns from
your EARLIER studies of the same network on other datasets:

1. the earlier studies: the same network tuned on scikit-learn's wine and digits data with
   Optuna's TPE and the same pruner, into an SQLite storage (pass your own storage URL as the
   first argument to reuse studies already there: they are not run again);
2. each is imported as experience (`metahpo.knowledge.import_study`, `metahpo kb import` on the
   command line), under metahpo's ``mlp`` family whose parameters the network names alike
   (``width``, ``depth``, ``learning_rate_init``); only COMPLETE trials become experience (a
   pruned trial's value is an early epoch's score, not a result); ``batch_size`` is not in that
   space, so metahpo samples it;
3. the new task, the breast-cancer data in ``examples/data``: ``metahpo.meta_sampler_for`` with
   ``experience=`` your storage's studies and ``space=`` the network's parameters gives the
   sampler; the study runs under the same pruner.

Needs PyTorch (a CPU build is enough: ``pip install torch``).
Run: python examples/07_torch_pruning.py [STORAGE_URL]   (under a minute on 2 cores)
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState
from sklearn.datasets import load_digits, load_wine
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import metahpo
from metahpo.datasets import Dataset, from_frame, load_dataset
from metahpo.knowledge import KnowledgeStore, from_store, import_study, load_bundled

try:
    import torch
except ImportError:
    sys.exit(
        "examples/07_torch_pruning.py needs PyTorch: pip install torch (a CPU build is enough), "
        "or pip install 'metahpo[torch]'"
    )

torch.set_num_threads(1)  # one thread: reproducible, and fair to the other processes
torch.use_deterministic_algorithms(True)
optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

EPOCHS = 27  # the full fidelity; Hyperband's rungs sit at 1, 3 and 9 epochs
EARLIER_TRIALS = 16  # per earlier study
N_TRIALS = 20  # on the new task
#: The network's parameters in metahpo's space form (see metahpo.spaces): names shared with
#: the ``mlp`` family carry experience over; ``batch_size`` is the network's own.
SPACE = {
    "learning_rate_init": [1e-4, 0.1, "log"],
    "batch_size": [16, 128, "log"],
    "width": [16, 256, "log"],
    "depth": [1, 3],
}


def pruner() -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3)


def objective_for(data: Dataset):
    """Your training loop: an MLP trained for up to EPOCHS epochs, validated after each."""
    X = StandardScaler().fit_transform(data.X.to_numpy(dtype=np.float32))
    classes, y = np.unique(data.y, return_inverse=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    X_tr, X_va = torch.tensor(X_tr, dtype=torch.float32), torch.tensor(X_va, dtype=torch.float32)
    y_tr = torch.tensor(y_tr)

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("learning_rate_init", 1e-4, 0.1, log=True)
        batch_size = trial.suggest_int("batch_size", 16, 128, log=True)
        width = trial.suggest_int("width", 16, 256, log=True)
        depth = trial.suggest_int("depth", 1, 3)
        torch.manual_seed(trial.number)
        layers: list[torch.nn.Module] = []
        n_in = X_tr.shape[1]
        for _ in range(depth):
            layers += [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
            n_in = width
        net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, len(classes)))
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        score = 0.0
        for epoch in range(1, EPOCHS + 1):
            net.train()
            for batch in torch.randperm(len(y_tr)).split(batch_size):
                optimizer.zero_grad()
                loss_fn(net(X_tr[batch]), y_tr[batch]).backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                predicted = net(X_va).argmax(dim=1).numpy()
            score = float(balanced_accuracy_score(y_va, predicted))
            trial.set_user_attr("epochs", epoch)
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    return objective


def counts(study: optuna.Study) -> tuple[int, int, int]:
    """COMPLETE trials, PRUNED trials and epochs trained in all."""
    trials = study.trials
    done = sum(t.state == TrialState.COMPLETE for t in trials)
    pruned = sum(t.state == TrialState.PRUNED for t in trials)
    return done, pruned, sum(int(t.user_attrs.get("epochs", 0)) for t in trials)


def fmt(p: dict) -> str:
    return (
        f"lr {p['learning_rate_init']:.2g}, batch {p['batch_size']}, width {p['width']}, "
        f"depth {p['depth']}"
    )


def origin(config: dict, url: str) -> str:
    """Where a warm start comes from: the library default, or one of your studies' trials."""
    names = ("learning_rate_init", "width", "depth")

    def same(a: dict, b: dict) -> bool:
        return all(np.isclose(a[k], b[k], rtol=1e-6) for k in names)

    if same(config, metahpo.get_space("mlp", "classification").default_config()):
        return "library default"
    for summary in optuna.get_all_study_summaries(url):
        study = optuna.load_study(study_name=summary.study_name, storage=url)
        ranked = sorted(study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: -t.value)
        for rank, trial in enumerate(ranked, start=1):
            if same(config, trial.params):
                return f"{summary.study_name.removeprefix('torch-mlp-')} no. {rank}"
    return "meta-learned"


def earlier_tasks() -> dict[str, Dataset]:
    wine, digits = load_wine(as_frame=True), load_digits(as_frame=True)
    return {
        "wine": from_frame(wine.data, wine.target, "classification", name="wine"),
        "digits": from_frame(digits.data, digits.target, "classification", name="digits"),
    }


def main(url: str) -> None:
    # 1. Your earlier studies: the same network on other datasets (kept if already there).
    store = KnowledgeStore(url)
    print("earlier studies (TPE + HyperbandPruner):")
    for name, data in earlier_tasks().items():
        study_name = f"torch-mlp-{name}"
        if study_name not in store.study_names():
            study = optuna.create_study(
                study_name=study_name,
                storage=url,
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=0),
                pruner=pruner(),
            )
            study.optimize(objective_for(data), n_trials=EARLIER_TRIALS)
        study = optuna.load_study(study_name=study_name, storage=url)
        done, pruned, _ = counts(study)
        # 2. ... made experience: the COMPLETE trials, under the mlp family's names.
        report = import_study(store, study_name, data, family="mlp", metric="balanced_accuracy")
        print(
            f"  {name:<7} best balanced accuracy {study.best_value:.4f}; {done} complete, "
            f"{pruned} pruned; imported {report.n_trials} (matched: {', '.join(report.matched)})"
        )

    # 3. The new task, learning from those studies only (not metahpo's bundled experience).
    new = load_dataset(Path(__file__).resolve().parent / "data" / "breast_cancer")
    experience = from_store(store, load_bundled().metafeature_names)
    plan = metahpo.meta_sampler_for(new, "mlp", experience=experience, space=SPACE, n_warm_start=3)
    near = ", ".join(f"{d} ({s:.2f})" for d, s in plan.suggestions[0].neighbors[:2])
    print(f"\nnew task {new.name}: nearest earlier tasks {near}")
    print("warm starts: " + ", ".join(origin(c, url) for c in plan.sampler.warm_start))
    head, full = f"{N_TRIALS} trials each", N_TRIALS * EPOCHS
    print(f"\n{head:<24} {'best':>6} {'complete':>9} {'pruned':>7} {'epochs':>7} (of {full})")
    studies = {}
    for label, sampler in [
        ("MetaSampler", plan.sampler),
        ("TPE", optuna.samplers.TPESampler(seed=0)),
    ]:
        study = optuna.create_study(
            study_name=f"{new.name}-{label}",  # Hyperband's brackets hash the study's name
            direction="maximize",
            sampler=sampler,
            pruner=pruner(),
        )
        study.optimize(objective_for(new), n_trials=N_TRIALS)
        done, pruned, epochs = counts(study)
        name = f"{label} + Hyperband"
        print(f"{name:<24} {study.best_value:.4f} {done:>9} {pruned:>7} {epochs:>7}")
        studies[label] = study
    best = studies["MetaSampler"].best_trial
    source = origin(best.params, url) if "metahpo:warm" in best.system_attrs else "refinement"
    print(f"MetaSampler's best: trial {best.number + 1} ({source}): {fmt(best.params)}")
    _, _, epochs = counts(studies["MetaSampler"])
    print(f"pruning saved {1 - epochs / full:.0%} of the epochs (MetaSampler)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(f"sqlite:///{Path(tmp) / 'my-studies.db'}")
