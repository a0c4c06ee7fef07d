# metahpo developer commands. Everything runs in a local virtual environment (.venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is optional (metahpo[torch]); this exact CPU build is installed first so that the
# range in pyproject.toml is already satisfied and pip never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: install install-torch run test test-slow lint bench bench-live kb-build clean

$(BIN)/metahpo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,parquet]'
	touch $@

install: $(BIN)/metahpo

install-torch: install
	$(BIN)/pip install --quiet '$(TORCH)' && $(BIN)/pip install --quiet -e '.[dev,parquet,torch]'

## The main job: tune a gradient-boosting model on a small real dataset shipped in the repo.
run: install
	$(BIN)/metahpo tune examples/data/vehicle --model hgb --budget 30 --storage sqlite:///metahpo.db --json best.json

## The default test run (slow tests excluded); this is what .ci/run calls.
test: install-torch
	$(BIN)/pytest -q

## Slow tests: every family and optimizer on real shared datasets (needs ../shared/datasets).
test-slow: install-torch
	$(BIN)/pytest -q -m slow

lint: install
	$(BIN)/ruff check src tests && $(BIN)/ruff format --check src tests && $(BIN)/mypy

## Rebuild the bundled experience from ../shared/datasets (hours on 2 cores; resumable).
kb-build: install
	$(BIN)/metahpo kb build --datasets ../shared/datasets --workers 2 \
	  --storage sqlite:///$(HOME)/.cache/metahpo-kb.db --export src/metahpo/_data/kb

## Replay benchmark on the bundled experience (budget 50, 5 seeds, 5 grouped folds, 2 workers;
## under 30 min on 2 cores). Regenerates benchmarks/RESULTS.md; reruns resume from bench-out/.
bench: install-torch
	$(BIN)/metahpo bench --budget 50 --seeds 5 --folds 5 --workers 2 --out bench-out \
	  --results-md benchmarks/RESULTS.md

## Live check: real training on 6 shared datasets drawn at random (each left out of the
## experience), the fast families, budget 30, 2 seeds; ~15 min on 2 cores. Writes benchmarks/LIVE.md.
bench-live: install
	$(BIN)/python benchmarks/live_datasets.py ../shared/datasets bench-live-data
	$(BIN)/metahpo bench --live --datasets bench-live-data --families knn linear svm \
	  --methods default random tpe meta-tpe meta-transfer --budget 30 --seeds 2 --workers 2 \
	  --out bench-live-out --results-md benchmarks/LIVE.md

clean:
	rm -rf $(VENV) *.egg-info build dist
