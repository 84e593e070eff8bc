# catbreed: the two commands a new user needs are `make run` and `make test`; `make` alone
# lists every target (`make help`, from the `##` comments).
PY := .venv/bin/python
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0
export TF_CPP_MIN_LOG_LEVEL := 2

CHECKOV ?= .venv/checkov/bin/checkov # its own venv (scripts/setup.sh dev); every skip in template.yaml says why

.DEFAULT_GOAL := help
.PHONY: help run test test-fast mutate setup-run setup-unit setup-dev lint check-infra train bench load deploy deploy-dry-run \
	clean clean-data

help: ## list the targets (this)
	@echo "make TARGET, where TARGET is one of:"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)$$/  \1\t\2/' | expand -t 18

run: ## set up the runtime, start the local server on PORT (8080), classify a real photo, keep serving
	PORT=$(PORT) scripts/run_local.sh

test: setup-dev lint check-infra ## set up everything and pass every test
	$(PY) -m pytest

test-fast: setup-unit ## the inner loop: unit tests only (a light setup: no training stack)
	$(PY) -m pytest tests/unit -q

MUTATE_MAX ?= 1500 # seconds: mutmut stops there; `make mutate` again resumes where it stopped
MUTMUT := PYTHONPATH=.venv/mutmut $(PY) -m mutmut
mutate: setup-dev ## plant bugs in the runtime package (mutmut) and list those the unit tests miss
	$(PY) -m pip install -q --upgrade --no-deps --target .venv/mutmut -r requirements-mutate.txt
	timeout $(MUTATE_MAX) $(MUTMUT) run || true
	$(MUTMUT) results

setup-run:
	scripts/setup.sh run

setup-unit:
	scripts/setup.sh unit

setup-dev:
	scripts/setup.sh dev

lint: ## ruff, hadolint, shellcheck
	$(PY) -m ruff check .
	.venv/bin/hadolint Dockerfile
	.venv/bin/shellcheck scripts/*.sh .ci/run

check-infra: ## the SAM template, offline (SAM, cfn-lint, checkov); a wheel for every runtime pin on each architecture (skips without the index)
	.venv/bin/sam validate --lint --region us-east-1
	.venv/bin/cfn-lint template.yaml
	$(CHECKOV) --file template.yaml --framework cloudformation --compact --quiet --skip-download # offline: no guidelines fetched
	$(PY) -m catbreed_local.check_wheels
	scripts/deploy.sh --dry-run > /dev/null

DATA ?= ../shared/data/cats
RUN ?= runs/shipped
ROOTS := $(DATA)/oxford $(DATA)/web $(DATA)/petfinder $(DATA)/gallery $(DATA)/thumbs
# the defaults of training.train (Lite2, 2 views, top 6 blocks, 4 epochs, distillation) plus these choices;
# convert_model.py's defaults are the shipped recipe (float32: int8 fails its rule; breeds learned on validation; README: Training)
TRAIN_FLAGS := --source-weight web=0.5 petfinder=0.3 thumbs=0.5 --views-per-source thumbs=1 --min-photos 40
# Owners' photos, exported by `python -m catbreed_local.feedback_export` and reviewed by a person (README: Feedback):
# `make train FEEDBACK=runs/feedback` adds that folder as one more root, weighed FEEDBACK_WEIGHT.
FEEDBACK ?=
FEEDBACK_WEIGHT ?= 0.5
ifneq ($(strip $(FEEDBACK)),)
ifeq ($(wildcard $(FEEDBACK)/manifest.csv),)
$(error FEEDBACK=$(FEEDBACK) is not a folder made by catbreed_local.feedback_export)
endif
ifneq ($(wildcard $(FEEDBACK)/NOT_REVIEWED.txt),)
$(error FEEDBACK=$(FEEDBACK) is not reviewed yet: look at every photo, then delete $(FEEDBACK)/NOT_REVIEWED.txt)
endif
ROOTS += $(FEEDBACK)
TRAIN_FLAGS += --source-weight $(notdir $(abspath $(FEEDBACK)))=$(FEEDBACK_WEIGHT)
endif
CONVERT_FLAGS :=
train: setup-dev ## retrain the shipped model from ../shared/data/cats, about an hour here (see README: Training)
	$(PY) -m training.train --data $(ROOTS) $(TRAIN_FLAGS) --out $(RUN)
	$(PY) convert_model.py --run $(RUN) --out model $(CONVERT_FLAGS)

bench: setup-dev ## speed, memory, size, and time and cost at each Lambda memory size (tables, JSON, docs/lambda-cost.png)
	$(PY) -m bench
	$(PY) -m bench.decode_memory

load: setup-dev ## bounded load test of the local server (127.0.0.1 only)
	$(PY) -m bench.load

deploy: ## build and deploy to AWS (needs Docker and credentials)
	scripts/deploy.sh

deploy-dry-run: ## print what deploy would do
	scripts/deploy.sh --dry-run

# What the setup and the tools make again by themselves. Training runs, the activation cache
# (about 20 minutes to rebuild), exported and locally kept feedback are clean-data's alone.
CLEAN := .venv .pytest_cache .ruff_cache .aws-sam mutants
DATA_DIRS := runs feedback-local
clean: ## remove the venv, tool caches and build output (never runs/ or feedback-local/: see clean-data)
	@echo "removing $(CLEAN) (make run or make test sets them up again); keeping $(DATA_DIRS)"
	rm -rf $(CLEAN)

clean-data: ## remove runs/ (training runs, the activation cache, exported feedback) and feedback-local/
	@echo "removing runs/ (training runs, the activation cache: about 20 minutes to rebuild; exported feedback)"
	@echo "and feedback-local/ (feedback kept by the local server); none of it comes back by itself:"
	@du -sh $(DATA_DIRS) 2>/dev/null || true
	rm -rf $(DATA_DIRS)
