# make demo: set up, make synthetic data, train, test.  make test: the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_CONFIG := configs/demo/droploss_r50_synthetic.py
DEMO_DIR := work_dirs/demo

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml tools/setup_env.sh
	bash tools/setup_env.sh $(VENV)
	touch $@

demo: setup
	$(PY) tools/misc/make_synthetic_lvis.py --out data/synthetic_lvis --seed 0
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR)

test: setup
	$(PY) -m pytest tests -q

clean:
	rm -rf $(DEMO_DIR) data/synthetic_lvis
