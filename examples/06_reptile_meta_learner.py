"""Tuning a gradient-based meta-learner (Reptile, first-order MAML) with metahpo's MetaSampler.

Reptile learns an initialisation of a small neural network from many related regression tasks,
so that a few gradient steps on a handful of points adapt it to a new task. How well that works
hangs on its own hyperparameters: the inner learning rate and number of inner steps (the
adaptation) and the meta step size (how far the initialisation moves towards each adapted one).

The tasks are sine waves y = a sin(x - b) seen through 10 points each. You tuned the same
Reptile earlier on a related family, straight lines y = a x + b; that study is your experience.
metahpo's MetaSampler starts the new study from its best configurations (with a guard that
drops them if the results contradict their predicted order), then refines with TPE; Optuna's
TPE from scratch runs alongside for comparison. The network and Reptile are plain NumPy.

Run: python examples/06_reptile_meta_learner.py   (about a minute on 2 cores)
"""

from __future__ import annotations

import numpy as np
import optuna
from scipy.stats import rankdata

import metahpo

HIDDEN = 40  # units of the network's one hidden layer
SHOTS = 10  # points a task shows for adaptation
META_ITERATIONS = 300  # Reptile updates of the initialisation, 8 tasks each
optuna.logging.set_verbosity(optuna.logging.WARNING)


# -- task families: each draw gives a batch of tasks, x of shape (tasks, points, 1) ----------
def sine_tasks(rng: np.random.Generator, n_tasks: int, n_points: int):
    a = rng.uniform(0.1, 5.0, size=(n_tasks, 1, 1))
    b = rng.uniform(0.0, np.pi, size=(n_tasks, 1, 1))
    x = rng.uniform(-5.0, 5.0, size=(n_tasks, n_points, 1))
    return x, a * np.sin(x - b)


def line_tasks(rng: np.random.Generator, n_tasks: int, n_points: int):
    a = rng.uniform(-1.0, 1.0, size=(n_tasks, 1, 1))
    b = rng.uniform(-2.5, 2.5, size=(n_tasks, 1, 1))
    x = rng.uniform(-5.0, 5.0, size=(n_tasks, n_points, 1))
    return x, a * x + b


# -- a one-hidden-layer tanh network, one copy of the weights per task ------------------------
def init_network(rng: np.random.Generator) -> list[np.ndarray]:
    return [
        rng.normal(0.0, 1.0, size=(1, HIDDEN)),  # W1
        np.zeros(HIDDEN),  # b1
        rng.normal(0.0, 1.0 / np.sqrt(HIDDEN), size=(HIDDEN, 1)),  # W2
        np.zeros(1),  # b2
    ]


def predict(w: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    return np.tanh(x @ w[0] + w[1][:, None, :]) @ w[2] + w[3][:, None, :]


def adapt(w0: list[np.ndarray], x, y, lr: float, steps: int) -> list[np.ndarray]:
    """``steps`` full-batch gradient steps on the mean squared error, for every task at once."""
    w = [np.repeat(p[None], len(x), axis=0) for p in w0]  # (tasks, ...) copies
    for _ in range(steps):
        h = np.tanh(x @ w[0] + w[1][:, None, :])
        d_out = 2.0 * (h @ w[2] + w[3][:, None, :] - y) / x.shape[1]
        d_h = (d_out @ w[2].transpose(0, 2, 1)) * (1.0 - h**2)
        grads = [
            x.transpose(0, 2, 1) @ d_h,
            d_h.sum(axis=1),
            h.transpose(0, 2, 1) @ d_out,
            d_out.sum(axis=1),
        ]
        w = [p - lr * np.clip(g, -10.0, 10.0) for p, g in zip(w, grads, strict=True)]
    return w


def reptile(tasks, inner_lr: float, inner_steps: int, meta_lr: float, seed: int = 0):
    """Meta-train an initialisation with Reptile: move it towards each task's adapted weights."""
    rng = np.random.default_rng(seed)
    w = init_network(rng)
    for it in range(META_ITERATIONS):
        x, y = tasks(rng, 8, SHOTS)
        adapted = adapt(w, x, y, inner_lr, inner_steps)
        step = meta_lr * (1.0 - it / META_ITERATIONS)  # linearly decayed meta step size
        w = [p + step * (a.mean(axis=0) - p) for p, a in zip(w, adapted, strict=True)]
    return w


def meta_test_error(tasks, w, inner_lr: float, inner_steps: int) -> float:
    """Mean squared error on 100 unseen tasks after adapting to 10 points of each."""
    rng = np.random.default_rng(12345)  # the same test tasks for every configuration
    x, y = tasks(rng, 100, SHOTS + 50)
    adapted = adapt(w, x[:, :SHOTS], y[:, :SHOTS], inner_lr, inner_steps)
    error = float(np.mean((predict(adapted, x[:, SHOTS:]) - y[:, SHOTS:]) ** 2))
    return error if np.isfinite(error) else 1e6  # a diverged run is a very bad one


def fmt(params: dict) -> str:
    return ", ".join(
        f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items()
    )


def objective_for(tasks):
    def objective(trial: optuna.Trial) -> float:
        inner_lr = trial.suggest_float("inner_lr", 1e-3, 0.3, log=True)
        inner_steps = trial.suggest_int("inner_steps", 1, 16)
        meta_lr = trial.suggest_float("meta_lr", 0.01, 1.0, log=True)
        w = reptile(tasks, inner_lr, inner_steps, meta_lr)
        return meta_test_error(tasks, w, inner_lr, inner_steps)

    return objective


# 1. Your earlier study: Reptile on straight lines, tuned with TPE.
earlier = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
earlier.optimize(objective_for(line_tasks), n_trials=12)
print(
    f"earlier study (lines): best meta-test MSE {earlier.best_value:.3f} with "
    f"{fmt(earlier.best_params)}"
)

# 2. Its three best configurations become the warm starts. The predicted score is a
#    normalised rank (higher is better) that the guard compares with the new results.
done = sorted(earlier.trials, key=lambda t: t.value)
errors = np.array([t.value for t in done])
predicted = 1.0 - (rankdata(errors) - 1) / (len(errors) - 1)
warm = [t.params for t in done[:3]]
sampler = metahpo.MetaSampler(warm, predicted=list(predicted[:3]), seed=0)

# 3. The sine tasks, with that experience and without it. Both studies use TPE with the same
#    seed after the warm starts, so the difference between the columns is the warm starts.
N_TRIALS = 10
studies = {}
for label, s in [("MetaSampler", sampler), ("TPE", optuna.samplers.TPESampler(seed=0))]:
    studies[label] = optuna.create_study(direction="minimize", sampler=s)
    studies[label].optimize(objective_for(sine_tasks), n_trials=N_TRIALS)

print("\nsine tasks: best meta-test MSE so far (lower is better)")
print("trial  MetaSampler     TPE")
best = {k: np.minimum.accumulate([t.value for t in s.trials]) for k, s in studies.items()}
for i in (1, 3, 5, N_TRIALS):
    print(f"{i:>5}  {best['MetaSampler'][i - 1]:11.3f}  {best['TPE'][i - 1]:6.3f}")
if sampler.guard_message:
    print("guard:", sampler.guard_message)
for label, study in studies.items():
    n = study.best_trial.number + 1
    from_lines = label == "MetaSampler" and n <= len(warm)
    note = f" (a warm start: the lines study's rank-{n} configuration)" if from_lines else ""
    print(f"{label}'s best: trial {n}{note}")

# What the meta-learning itself buys: the tuned Reptile against the same network adapted
# from a random initialisation (no meta-training) with the same inner steps.
params = studies["MetaSampler"].best_params
lr, steps = params["inner_lr"], params["inner_steps"]
meta_learned = meta_test_error(sine_tasks, reptile(sine_tasks, **params), lr, steps)
random_init = init_network(np.random.default_rng(0))
print(f"\nbest configuration found with MetaSampler: {fmt(params)}")
print(f"  meta-learned initialisation, adapted:  MSE {meta_learned:.3f}")
print(
    f"  random initialisation, same adaptation: MSE "
    f"{meta_test_error(sine_tasks, random_init, lr, steps):.3f}"
)
_, y_test = sine_tasks(np.random.default_rng(12345), 100, SHOTS + 50)  # the test tasks
print(f"  predicting 0 everywhere:                MSE {np.mean(y_test[:, SHOTS:] ** 2):.3f}")
