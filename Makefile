# The two commands a new machine needs: `make run` and `make test`. Both create the environment
# first (Python from the machine, every package pinned by uv.lock).

SCALE ?= 1
SEED ?= 20220706
SCENARIO ?= la-2022
# The generator's keying profile (docs/scenario.md); a profile other than standard gets a folder
# of its own.
KEYING ?= standard
DATA_DIR ?= data/generated/$(SCENARIO)-scale-$(SCALE)$(if $(filter-out standard,$(KEYING)),-$(KEYING))
TRUTH_DIR ?= $(DATA_DIR).truth
# EXAMINATION=1: the run is followed by the proponents' examination (docs/examination.md), in a
# folder of its own so that the scenario's folder stays as generated.
EXAMINATION ?=
EXAMINATION_DIR ?= $(DATA_DIR).examination
PETITION ?= la-2022-da-recall
WAREHOUSE ?= duckdb:///$(CURDIR)/data/warehouse.duckdb
PYTHON ?= python3
UV_VERSION := 0.13.9

VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# Installed packages are compiled to bytecode once, at install: a machine that does not write
# bytecode (PYTHONDONTWRITEBYTECODE) would otherwise compile Dagster and Great Expectations
# from source in every run, seconds each time.
export UV_COMPILE_BYTECODE := 1

.PHONY: room env run test lint format postgres browser bench accuracy clean corpus dictionary publication long

env: $(VENV)/.synced

# uv from the PATH, or a pinned copy in .tools/ on a machine that has none.
$(VENV)/.synced: uv.lock pyproject.toml
	@command -v uv >/dev/null 2>&1 || [ -x .tools/bin/uv ] || { \
	  $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv==$(UV_VERSION); }
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# Generates the scenario once (into a scratch folder, moved into place only when complete),
# then materializes every asset into the warehouse and prints what was published.
# With EXAMINATION=1 the scenario is copied (hard links) into EXAMINATION_DIR and run there: the
# finding, then challenges and rulings generated from it and the truth (with the recount they
# must lead to, written into TRUTH_DIR), the run again, the standing before and after, and the
# published count checked against the recount (exit 4 when they differ).
run: env
	@if [ ! -f $(DATA_DIR)/.complete ]; then \
	  rm -rf $(DATA_DIR).partial $(TRUTH_DIR) && \
	  $(BIN)/recall-audit generate --scenario $(SCENARIO) --scale $(SCALE) --seed $(SEED) \
	    --keying $(KEYING) --out $(DATA_DIR).partial --truth-out $(TRUTH_DIR) && \
	  touch $(DATA_DIR).partial/.complete && rm -rf $(DATA_DIR) && mv $(DATA_DIR).partial $(DATA_DIR); \
	fi
ifeq ($(EXAMINATION),1)
	rm -rf $(EXAMINATION_DIR)
	cp -al $(DATA_DIR) $(EXAMINATION_DIR) 2>/dev/null || cp -a $(DATA_DIR) $(EXAMINATION_DIR)
	$(BIN)/recall-audit run --data-dir $(EXAMINATION_DIR) --warehouse $(WAREHOUSE)
	$(BIN)/recall-audit generate-examination --data-dir $(EXAMINATION_DIR) \
	  --truth-dir $(TRUTH_DIR) --warehouse $(WAREHOUSE) --seed $(SEED)
	$(BIN)/recall-audit run --data-dir $(EXAMINATION_DIR) --warehouse $(WAREHOUSE)
	$(BIN)/recall-audit examination status $(PETITION) --warehouse $(WAREHOUSE)
	$(BIN)/recall-audit check-examination --truth-dir $(TRUTH_DIR) --warehouse $(WAREHOUSE)
else
	$(BIN)/recall-audit run --data-dir $(DATA_DIR) --warehouse $(WAREHOUSE)
endif

# The examination room on this machine (http://127.0.0.1:$(ROOM_PORT)/) over the warehouse
# `make run` published; accounts first: `.venv/bin/recall-audit room-account add NAME --role
# admin --warehouse $(WAREHOUSE)`. Plain HTTP on loopback only (docs/room.md: behind TLS).
ROOM_PORT ?= 8080
room: env
	$(BIN)/recall-audit room --data-dir $(DATA_DIR) --warehouse $(WAREHOUSE) \
	  --host 127.0.0.1 --port $(ROOM_PORT) --insecure-cookies

# The tests of the accuracy suite's converters and of the Splink baseline need the bench group:
# installed here too, so that no test skips for want of a package.
test: env postgres browser
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(BIN)/python -m pytest -q -n 2

# The whole bad-input corpus, every case on DuckDB and PostgreSQL (`make test` runs a third of
# it), and the readers' and settings' fuzzing at length (FUZZ_EXAMPLES draws each).
FUZZ_EXAMPLES ?= 2000
corpus: env postgres
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(BIN)/python -m pytest -q -m "corpus_full or not corpus_full" \
	  recall_pipeline_tests/test_bad_input_corpus.py
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -k fuzz \
	  recall_pipeline_tests/test_ingest.py recall_pipeline_tests/test_yaml_settings.py

# Whole runs that repeat what the CI suite proves by cheaper means: the multiprocess executor,
# reruns compared table by table, a renamed scan file.
long: env postgres browser
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(BIN)/python -m pytest -q -n 2 -m long

# Runs killed at every step and two runs at once, on both backends (make test runs one backend
# of each).
publication: env postgres
	$(BIN)/python -m pytest -q -m "publication_full or not publication_full" \
	  recall_pipeline_tests/test_publication.py

# Times the whole pipeline per stage at each scale (generating each scenario once) and scores it,
# with Splink on the same data beside it (the `bench` dependency group; BENCH_ARGS=--no-splink
# skips it).
BENCH_SCALES ?= 0.1 0.3 1
BENCH_ARGS ?=
bench: env
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(BIN)/python benchmarks/bench.py $(foreach s,$(BENCH_SCALES),--scale $(s)) $(BENCH_ARGS)

# The accuracy suite (docs/accuracy.md): the LA scenario's keying profiles and the public FEBRL
# data sets, our pipeline and Splink on each; a report, never a failure on the figures.
ACCURACY_ARGS ?=
accuracy: env
	$(UV) sync --frozen --group bench --python $(PYTHON)
	$(BIN)/python benchmarks/accuracy.py $(ACCURACY_ARGS)

# The published data dictionary, generated from the table declarations (recall_pipeline/schema.py);
# a test fails when the committed file is not what the code generates.
dictionary: env
	$(BIN)/python -m recall_pipeline.schema > docs/data-dictionary.md.partial
	mv docs/data-dictionary.md.partial docs/data-dictionary.md

lint: env
	$(BIN)/ruff format --check recall_pipeline recall_pipeline_tests benchmarks
	$(BIN)/ruff check recall_pipeline recall_pipeline_tests benchmarks

format: env
	$(BIN)/ruff format recall_pipeline recall_pipeline_tests benchmarks
	$(BIN)/ruff check --fix recall_pipeline recall_pipeline_tests benchmarks

# PostgreSQL runs on every machine here; start it if it is down (the tests never skip it).
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1

# Headless Chromium renders the certificate in the tests (and prints its PDF), and Playwright
# drives it through the examination room (never a browser of its own download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

clean:
	rm -rf $(VENV) .tools data/generated data/warehouse.duckdb*
