# One-command set-up: both targets create (or reuse) .venv and install the pinned dependencies first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
VLMEVAL_ENV := .envs/vlmeval
CONDA ?= $(shell command -v mamba || command -v conda)

.PHONY: demo test lint format clean-results base-checkpoint vlmeval-env screenshots

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	DS_BUILD_OPS=0 $(BIN)/python -m pip install --quiet --no-compile -r requirements.lock  # deepspeed: no ops compiled
	$(BIN)/python -m pip install --quiet --no-compile --no-deps -e .
	@# Byte-compile once, on both cores: where PYTHONDONTWRITEBYTECODE is set (as on CI) nothing else
	@# ever writes .pyc files, and every job would recompile torch/transformers (7 s -> 3 s per import).
	@# A few packages ship non-Python *.py templates; compileall reports them and goes on.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib src > /dev/null 2>&1 || true
	touch $(STAMP)

demo: $(STAMP)  ## the embedded study end to end on this machine, then its HTML report and where to look
	$(BIN)/snakemake --workflow-profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --report results/report.html
	@$(BIN)/sgt results

screenshots: $(STAMP)  ## the README's two report pages (Table 3, Fig. 3a) from results/report.html, after make demo
	$(BIN)/python -m sgt.report.screenshot results/report.html docs/report-table3.png --entry "Table 3" --hide-navbar --width 1500 --height 600
	$(BIN)/python -m sgt.report.screenshot results/report.html docs/report-fig3a.png --entry fig3a

test: $(STAMP)  ## lint, format check, unit tests, workflow tests
	$(BIN)/ruff check src tests benchmarks workflow/scripts
	$(BIN)/ruff format --check src tests benchmarks workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules
	@# one worker a core; a test file is a unit of work, the files reading make demo's copy one unit (tests/conftest.py)
	$(BIN)/python -m pytest -q -n $(CORES) --dist loadfile --no-loadscope-reorder

base-checkpoint: $(STAMP)  ## retrain the shipped tiny base from config and seed (about 30 min)
	@# one thread: the shipped base was built so, and weights agree bitwise only at the same thread count
	rm -rf checkpoints/tiny-base
	$(BIN)/snakemake --workflow-profile profiles/local --cores $(CORES) results/models/tiny/base --forcerun pretrain --set-threads pretrain=1
	$(BIN)/sgt ship-base --model-dir results/models/tiny/base --dest checkpoints/tiny-base

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks workflow/scripts
	$(BIN)/ruff check --fix src tests benchmarks workflow/scripts
	$(BIN)/snakefmt Snakefile workflow/rules

clean-results:
	rm -rf results .snakemake

vlmeval-env:  ## VLMEvalKit's own environment for the cluster's vlmeval jobs (CUDA torch; needs conda or mamba)
	@test -n "$(CONDA)" || { echo "make vlmeval-env: no conda or mamba on PATH; install one, or build envs/vlmeval.yaml's packages into any env and set eval.vlmeval.python to its python" >&2; exit 1; }
	$(CONDA) env update -p $(VLMEVAL_ENV) -f envs/vlmeval.yaml
	@# flash-attn compiles against the env's CUDA torch, so it cannot be in the same pip call
	$(CONDA) run -p $(VLMEVAL_ENV) python -m pip install --no-build-isolation flash-attn==2.7.4.post1
