# make demo: set up, make synthetic data, train, test.  make test: the suite.
# make test-compat: the suite on the GPU users' stack (torch 2.1, numpy 1.26).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
COMPAT_VENV ?= .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed
SETUP_DEPS := pyproject.toml tools/setup_env.sh
DEMO_CONFIG := configs/demo/droploss_r18_synthetic_demo.py
DEMO_DIR := work_dirs/demo
DEMO_DATA := data/demo_synthetic

.PHONY: setup setup-compat demo demo-data lint test test-compat bench clean

setup: $(STAMP)

setup-compat: $(COMPAT_STAMP)

$(STAMP): requirements/newest.txt $(SETUP_DEPS)
	bash tools/setup_env.sh newest $(VENV)
	touch $@

$(COMPAT_STAMP): requirements/gpu-users.txt $(SETUP_DEPS)
	bash tools/setup_env.sh gpu-users $(COMPAT_VENV)
	touch $@

# the data the header of $(DEMO_CONFIG) names; the last line of the output
# names the folder of painted validation images
demo: setup
	$(MAKE) demo-data
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR) --show-dir vis

# no setup: tools/gpu/check.sh calls it with PY=python3 on a GPU machine
demo-data:
	$(PY) tools/misc/make_synthetic_lvis.py --out $(DEMO_DATA) --seed 0 \
		--num-train 240 --num-val 24 --num-active 20 --only-active \
		--rare-max 10 --common-max 24

lint: setup
	$(VENV)/bin/ruff check .

test: setup
	$(PY) -m pytest tests -q

test-compat: setup-compat
	$(COMPAT_VENV)/bin/python -m pytest tests -q

# rerun the commands whose output README.md and docs/*.md quote in their
# <!-- bench: ... --> blocks and rewrite the blocks (about 10 minutes);
# BENCH=bench_loss reruns only the blocks whose command names it; LONG=1
# also those marked long (the demo, the experiments, CI: hours in all)
bench: setup
	$(PY) tools/benchmarks/update_docs.py --only "$(BENCH)" $(if $(LONG),--long)

clean:
	rm -rf $(DEMO_DIR) $(DEMO_DATA) data/synthetic_lvis
