# metahpo developer commands. Everything runs in a local virtual environment (.venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is optional (metahpo[torch]); this exact CPU build is installed first so that the
# range in pyproject.toml is already satisfied and pip never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: install install-torch run test test-slow lint bench bench-live bench-live-quick bench-live-ablation bench-time bench-time-quick kb-build clean

# The library, then the benchmark lab beside it (benchmarks/, metahpo-bench: its peers FLAML
# and scikit-optimize), which the tests of the benchmarks and the bench targets use.
$(BIN)/metahpo: pyproject.toml benchmarks/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,parquet]'
	$(BIN)/pip install --quiet -e benchmarks
	touch $@

install: $(BIN)/metahpo

install-torch: install
	$(BIN)/pip install --quiet '$(TORCH)' && $(BIN)/pip install --quiet -e '.[dev,parquet,torch]'

## The main job: tune a gradient-boosting model on a small real dataset shipped in the repo
## (Wisconsin breast cancer, not in the bundled experience: transfer, not a look-up).
run: install
	$(BIN)/metahpo tune examples/data/breast_cancer --model hgb --budget 30 --storage sqlite:///metahpo.db --json best.json

## Lint and types: ruff's rules and formatting on every Python folder, then mypy (strict, at
## the lowest supported Python). `make test` runs it first, so CI checks it too.
LINT_DIRS := src tests benchmarks examples
LINT = $(BIN)/ruff check $(LINT_DIRS) && $(BIN)/ruff format --check $(LINT_DIRS) && $(BIN)/mypy

## The default test run (lint first, then the tests; slow tests excluded); this is what
## .ci/run calls.
test: install-torch
	$(LINT)
	$(BIN)/pytest -q

## Slow tests: every family and optimizer on real shared datasets (needs ../shared/datasets).
test-slow: install-torch
	$(BIN)/pytest -q -m slow

lint: install
	$(LINT)

## Rebuild the bundled experience from ../shared/datasets (hours on 2 cores; resumable). Every
## family whose library is installed (lgbm, xgb: the boost extra, in dev); the families a
## committed shard already holds are kept, so on the current bundle this adds lgbm and xgb.
kb-build: install
	$(BIN)/metahpo kb build --datasets ../shared/datasets --workers 2 \
	  --storage sqlite:///$(HOME)/.cache/metahpo-kb.db --export src/metahpo/_data/kb

## Replay benchmark on the bundled experience (budget 50, 5 seeds, 5 grouped folds, 2 workers;
## 57 min on 2 shared cores on 2026-12-06). Regenerates benchmarks/RESULTS.md, its compact summary
## benchmarks/replay/summary.json and the README's replay table; reruns resume from bench-out/.
## The benchmark lab is its own package (benchmarks/, command metahpo-bench), installed here.
bench: install-torch
	$(BIN)/metahpo-bench --budget 50 --seeds 5 --folds 5 --workers 2 --out bench-out \
	  --results-md benchmarks/RESULTS.md --summary benchmarks/replay/summary.json
	$(BIN)/python benchmarks/readme_headline.py

## Live benchmark, the measure of record: real training on 24 held-out shared datasets (seeded,
## stratified draw), hgb lgbm xgb rf svm mlp, budget 30, 2 seeds, metahpo's default against Optuna's
## random/TPE/GPSampler/CMA-ES, FLAML and scikit-optimize. Runs are cached in the committed
## benchmarks/live/runs/ (resumable after a kill; only new or changed methods train); writes
## benchmarks/live/summary.json, benchmarks/LIVE.md and the README headline.
LIVE_ARGS := --live --datasets ../shared/datasets --workers 2 --cache benchmarks/live/runs
bench-live: install-torch
	$(BIN)/metahpo-bench $(LIVE_ARGS) --out bench-live-out \
	  --summary benchmarks/live/summary.json --results-md benchmarks/LIVE.md \
	  --ablation benchmarks/live/ablation.json
	$(BIN)/python benchmarks/readme_headline.py

## LIVE.md's ablation (issue 15): the quick cells, metahpo's parts one by one against the
## peers: warm starts then TPE or Optuna's GPSampler, + transfer over stored configurations,
## + continuous transfer BO (the default, `meta`), the torch variant (maml). Writes
## benchmarks/live/ablation.json, which `make bench-live` puts into LIVE.md.
ABLATION := meta meta-tpe meta-gpsampler meta-transfer meta-maml meta-fsbo random tpe gp skopt
bench-live-ablation: install-torch
	$(BIN)/metahpo-bench $(LIVE_ARGS) --quick --out bench-live-ablation-out \
	  --methods $(ABLATION) --summary benchmarks/live/ablation.json

## The quick loop for trying ideas (<= 20 min on 2 cores for one new method): every third
## held-out dataset, seed 0; baselines come from the cache. METHODS=... adds variants.
METHODS ?=
bench-live-quick: install-torch
	$(BIN)/metahpo-bench $(LIVE_ARGS) --quick --out bench-live-quick-out \
	  --methods meta random tpe gp cmaes flaml skopt $(METHODS)

## TIME benchmark, the second of record (issue 25): the test score after T = 60 and 300 seconds
## of one core on the 18 shared datasets with >= 10,000 rows (each held out by generator family),
## lgbm and hgb, at 10/25/50/100 % of T, metahpo against FLAML AutoML, Optuna TPE + HyperbandPruner,
## Optuna GPSampler and metahpo without fidelities (METHODS=all adds plain TPE). Runs are
## cached in benchmarks/time/runs/ (resumable after a kill); writes benchmarks/time/summary.json
## and benchmarks/TIME.md. The five methods of record (metahpo, flaml, tpe-hb, gp, metahpo-nofid;
## FLAML on lgbm only): 9 method-family pairs x 18 datasets x 360 s = 16.2 core-hours of budgets a
## seed, about 18 with refits (2 workers: about 9 hours; the 60-s runs come first, about 2 hours).
TIME_ARGS := --time --datasets ../shared/datasets --workers 2 --cache benchmarks/time/runs
bench-time: install-torch
	$(BIN)/metahpo-bench $(TIME_ARGS) --out bench-time-out \
	  --summary benchmarks/time/summary.json --results-md benchmarks/TIME.md
	$(BIN)/python benchmarks/readme_headline.py

## The TIME quick subset: 4 datasets of 10k-60k rows (both task types), lgbm, T = 60 s, seed 0
## (16 runs, about 10 minutes on 2 cores); into bench-time-quick-out/, baselines from the cache.
bench-time-quick: install-torch
	$(BIN)/metahpo-bench $(TIME_ARGS) --quick --out bench-time-quick-out $(if $(METHODS),--methods $(METHODS))

clean:
	rm -rf $(VENV) *.egg-info build dist
