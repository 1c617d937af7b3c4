# make demo: set up, make synthetic data, train, test.  make test: the suite.
# make test-compat: the suite on the GPU users' stack (torch 2.1, numpy 1.26).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
COMPAT_VENV ?= .venv-compat
COMPAT_STAMP := $(COMPAT_VENV)/.installed
SETUP_DEPS := pyproject.toml tools/setup_env.sh
DEMO_CONFIG := configs/demo/droploss_r50_synthetic.py
DEMO_DIR := work_dirs/demo

.PHONY: setup setup-compat demo test test-compat clean

setup: $(STAMP)

setup-compat: $(COMPAT_STAMP)

$(STAMP): requirements/newest.txt $(SETUP_DEPS)
	bash tools/setup_env.sh newest $(VENV)
	touch $@

$(COMPAT_STAMP): requirements/gpu-users.txt $(SETUP_DEPS)
	bash tools/setup_env.sh gpu-users $(COMPAT_VENV)
	touch $@

demo: setup
	$(PY) tools/misc/make_synthetic_lvis.py --out data/synthetic_lvis --seed 0
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR)

test: setup
	$(PY) -m pytest tests -q

test-compat: setup-compat
	$(COMPAT_VENV)/bin/python -m pytest tests -q

clean:
	rm -rf $(DEMO_DIR) data/synthetic_lvis
