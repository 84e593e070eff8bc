# catbreed: the two commands a new user needs are `make run` and `make test`; `make` alone
# lists every target (`make help`, from the `##` comments).
PY := .venv/bin/python
PORT ?= 8080
export SAM_CLI_TELEMETRY := 0
export TF_CPP_MIN_LOG_LEVEL := 2

CHECKOV ?= .venv/checkov/bin/checkov # its own venv (scripts/setup.sh dev); every skip in template.yaml says why

.DEFAULT_GOAL := help
.PHONY: help run test test-fast mutate setup-run setup-unit setup-dev lint check-infra data train bench load deploy deploy-dry-run \
	clean clean-data

help: ## list the targets (this)
	@echo "make TARGET, where TARGET is one of:"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)$$/  \1\t\2/' | expand -t 18

run: ## set up the runtime, start the local server on PORT (8080), classify a real photo, keep serving
	PORT=$(PORT) scripts/run_local.sh

test: setup-dev lint check-infra ## set up everything and pass every test
	$(PY) -m pytest

test-fast: setup-unit ## the inner loop: unit and infrastructure tests (a light setup: no training stack)
	$(PY) -m pytest tests/unit tests/infrastructure -q

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

data: setup-dev ## fetch the Oxford-IIIT Pet dataset's 12 cat breeds into data/cats/oxford (docs/training-data.md)
	$(PY) -m training.oxford_pets --out data/cats/oxford --downloads data/downloads

# DATA: the training roots, folders of <Breed>/*.jpg or path,breed CSV manifests, e.g.
# `make train DATA="data/cats/oxford ~/my-cats"`. By default every folder of data/cats (after
# `make data`), else of ../shared/data/cats (here), the shipped recipe's roots first and in its
# order (de-duplication keeps the first photo of near-duplicates, so order makes the split).
ROOT_ORDER := oxford web petfinder gallery thumbs
DATA_HOME := $(firstword $(wildcard data/cats ../shared/data/cats))
HOME_ROOTS := $(if $(DATA_HOME),$(patsubst %/,%,$(wildcard $(DATA_HOME)/*/)))
DATA ?= $(foreach root,$(ROOT_ORDER),$(filter $(DATA_HOME)/$(root),$(HOME_ROOTS))) \
	$(filter-out $(addprefix $(DATA_HOME)/,$(ROOT_ORDER)),$(HOME_ROOTS))
RUN ?= runs/shipped
ROOTS := $(strip $(DATA))
# the defaults of training.train (Lite2, 2 views, top 6 blocks, 4 epochs, distillation) plus these choices;
# convert_model.py's defaults are the shipped recipe (float32: int8 fails its rule; breeds learned on validation; docs/training.md)
TRAIN_FLAGS := --source-weight web=0.5 petfinder=0.3 thumbs=0.5 --views-per-source thumbs=1 --min-photos 40
# Owners' photos, exported by `python -m catbreed_local.feedback_export` and reviewed by a person (docs/feedback.md):
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
# The candidate is converted into $(RUN)/model (seeded with the card of the model in service, whose
# breeds the breed rule holds to a lower bar), then the promotion gate compares it with model/ on
# the run's test photos and ships it there only if no measure is worse beyond the noise (docs/rollout.md).
PROMOTE_FLAGS ?=
ifneq ($(filter train,$(MAKECMDGOALS)),)
ifeq ($(ROOTS),)
$(error no training data: run `make data` (the Oxford-IIIT Pet cats), or make train DATA="FOLDER ..." (README: Training))
endif
endif
train: setup-dev ## retrain from DATA (default: data/cats/*, else ../shared/data/cats/*), convert, and ship through the promotion gate
	$(PY) -m training.train --data $(ROOTS) $(TRAIN_FLAGS) --out $(RUN)
	rm -rf $(RUN)/model && mkdir -p $(RUN)/model && if [ -f model/model_card.json ]; then cp model/model_card.json $(RUN)/model/; fi
	$(PY) convert_model.py --run $(RUN) --out $(RUN)/model $(CONVERT_FLAGS)
	$(PY) scripts/promote.py $(RUN)/model --against model --run $(RUN) --report $(RUN)/promotion.json --ship $(PROMOTE_FLAGS)

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
