# Two commands on a fresh machine: `make demo` and `make test`. Everything else follows.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format bench samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: start the bundled sandbox over samples/ and write tickets into out/
demo: $(STAMP)
	$(BIN)/prodsheets demo --out out

## test: the whole test suite against the sandbox over loopback
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff check and format check
lint: $(STAMP)
	$(BIN)/ruff check prodsheets tests benchmarks samples
	$(BIN)/ruff format --check prodsheets tests benchmarks samples

format: $(STAMP)
	$(BIN)/ruff format prodsheets tests benchmarks samples
	$(BIN)/ruff check --fix prodsheets tests benchmarks samples

## bench: throughput of the nightly batch against the baseline and the ceiling
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

## samples: regenerate samples/ (deterministic)
samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(VENV) out .pytest_cache build dist
