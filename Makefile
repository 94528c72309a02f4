# Resonance developer tasks. Every step CI needs is here.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1
export RESONANCE_NO_PROGRESS ?=

.PHONY: setup setup-dev setup-torch demo test lint typecheck check bench bench-ingest bench-api bench-slices bench-loop bench-review bench-federated bench-valuation bench-validate soak bench-reports bench-cli bench-jobs bench-scale bench-agents clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

setup: $(BIN)/python  ## install the package and its runtime dependencies
	$(BIN)/pip install --quiet -e .

setup-dev: $(BIN)/python  ## install with test and lint tools
	$(BIN)/pip install --quiet -e ".[dev]"

setup-torch: setup-dev  ## add the optional torch extra (torch==2.13.0 first: the local CPU wheel)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,torch]"

demo: setup  ## the main job: the resonance loop end to end on a fresh embedded space
	$(BIN)/python examples/resonance_loop.py --space demo-space --fresh
	$(BIN)/resonance --space demo-space --admin ledger verify

lint:
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck:
	$(BIN)/mypy

test: setup-dev  ## lint, type-check and run the tests (PostgreSQL too when RESONANCE_TEST_POSTGRES_URL is set)
	$(MAKE) lint typecheck
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/pytest -q  # tests that start `resonance` processes find it

bench: setup-dev  ## every benchmark, each printing ratios against a baseline run in the same process
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.api_load
	$(BIN)/python -m bench.slices
	$(BIN)/python -m bench.loop
	$(BIN)/python -m bench.federated
	$(BIN)/python -m bench.valuation
	$(BIN)/python -m bench.validate_wide
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.cli_startup
	$(BIN)/python -m bench.jobs

bench-ingest: setup-dev
	$(BIN)/python -m bench.ingest

bench-api: setup-dev  ## 200 concurrent catalog reads on 127.0.0.1: p50/p99, p99 ratio to /health
	$(BIN)/python -m bench.api_load

bench-slices: setup-dev  ## slice search on 100,000 rows x 20 features, ratio to one LightGBM fit
	$(BIN)/python -m bench.slices

bench-loop: setup-dev  ## the loop vs 5 peers + ceiling, paired Wilcoxon; steel, ai4i, energy; held-out seeds 5-14
	$(BIN)/python -m bench.loop

bench-review: setup-dev  ## the loop's proposals vs known flips: precision, recall, review effort, lift
	$(BIN)/python -m bench.review

bench-federated: setup-dev  ## federated vs pooled, 2 datasets x 3/5 non-IID members: macro-F1 gap, time ratio
	$(BIN)/python -m bench.federated

bench-valuation: setup-dev  ## KNN-Shapley 100,000 x 1,000 vs one KNN predict; flipped-label recall
	$(BIN)/python -m bench.valuation

bench-validate: setup-dev  ## validate 20 rows x 1k/5k/20k columns: seconds, per-column cost ratio (target: 20k < 10 s)
	$(BIN)/python -m bench.validate_wide

soak: setup-dev  ## 10 kill -9 at random points of ingest/loop/federated runs, then verify and re-run
	$(BIN)/python -m bench.soak

bench-reports: setup-dev  ## a province report (3 industries, 93 scenarios) < 5 s; bulk import of 100 scenarios < 10 s
	$(BIN)/python -m bench.reports

bench-cli: setup-dev  ## resonance --help and dataset list start times, ratio to python -c pass
	$(BIN)/python -m bench.cli_startup

bench-agents: setup-dev  ## template agent vs fixed threshold and PCA T2/SPE on sealed replay and TEP episodes
	$(BIN)/pip install --quiet -e ".[dev,agents]"  # editable, like setup-dev: a plain install would shadow src/
	$(BIN)/python -m bench.agents

bench-jobs: setup-dev  ## 50 concurrent job submissions, 2 workers; catalog p99 vs /health while 2 jobs run
	$(BIN)/python -m bench.jobs

.venv-pydvl/bin/python:
	$(PY) -m venv .venv-pydvl
	.venv-pydvl/bin/pip install --quiet "pydvl==0.10.0"

bench-scale: setup-dev .venv-pydvl/bin/python  ## every capability at 10k/100k/1M rows (10M ingest): time, peak memory, peers
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	PYDVL_PYTHON=.venv-pydvl/bin/python $(BIN)/python -m bench.scale

clean:
	rm -rf $(VENV) .venv-pydvl demo-space .pytest_cache .mypy_cache .ruff_cache
