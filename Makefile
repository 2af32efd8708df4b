# weekly-models: the front door. `make help` lists every target.
#
# ENV is local (default: the dev configuration on the embedded emulator), dev or prod.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= local
EMULATOR_PORT ?= 5055
PYTHON ?= python3

ENDPOINT := http://127.0.0.1:$(EMULATOR_PORT)
# Every stack is tagged with the commit it was deployed from (Sceptre reads these in config/config.yaml).
WM_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo no-commit)$(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo -dirty)
WM_REPOSITORY := $(shell git remote get-url origin 2>/dev/null || echo not recorded)
export WM_COMMIT WM_REPOSITORY
CONFIG_ENV = $(if $(filter local,$(ENV)),dev,$(ENV))
VENV := .venv
BIN := $(VENV)/bin
EMU_VENV := .venv-emulator
CHECKOV_VENV := .venv-checkov
WM := $(BIN)/wm
SCEPTRE := $(BIN)/sceptre
EMU_DIR := .emulator
# What every command aimed at the emulator runs with: fake credentials, the local endpoint.
EMU_ENV := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ENDPOINT_URL=$(ENDPOINT) \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1

# wm on the emulator (local) or, after the credentials check, on AWS.
aws_cmd = $(if $(filter local,$(ENV)),$(EMU_ENV) $(WM) $(1),$(WM) aws-check $(ENV) >/dev/null && $(WM) $(1))

.PHONY: submit jobs cancel results migrate emulator-handbuilt smoke deploy-deployer plan drift refresh graphviz cost status run logs help install validate render lint test unit deploy destroy secret \
	emulator-start emulator-stop bench clean check-env

##@ Start here
help: ## List every target by what it is for (ENV=local|dev|prod, default local)
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- environments (pinned; each installs itself on first use) -------------------------

$(BIN)/.installed: requirements/tools.txt requirements/tools.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/tools.txt -c requirements/tools.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

$(EMU_VENV)/.installed: requirements/emulator.txt requirements/emulator.lock
	@test -x $(EMU_VENV)/bin/python || $(PYTHON) -m venv $(EMU_VENV)
	$(EMU_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/emulator.txt -c requirements/emulator.lock
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt requirements/checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt -c requirements/checkov.lock
	@touch $@

install: $(BIN)/.installed $(EMU_VENV)/.installed $(CHECKOV_VENV)/.installed ## Create the three pinned virtual environments

check-env:
	@case "$(ENV)" in local|dev|prod) ;; *) echo "error: ENV=$(ENV) is not an environment; use local, dev or prod" >&2; exit 2;; esac

##@ Check and render: the configuration (wm/config/), the stack builders (generators/), the checks (wm/lint/, tests/)

validate: check-env $(BIN)/.installed ## Check every setting of ENV; list values still to set
	@$(WM) validate $(ENV)

render: check-env $(BIN)/.installed ## Write ENV's templates to build/<env>/ (no AWS needed)
	@$(WM) render $(CONFIG_ENV)

FIXTURES := minimal maximal
lint: $(BIN)/.installed $(CHECKOV_VENV)/.installed ## ruff, cfn-lint (I rules, project rules), checkov, IAM permissions and parliament
	@$(BIN)/ruff check --quiet . || { echo "ruff found problems (above): fix them (ruff check --fix . fixes the marked ones)" >&2; exit 1; }
	@rm -rf build/dev build/prod build/account build/fixtures
	@$(WM) render dev prod account
	@for f in $(FIXTURES); do $(WM) render dev --root tests/fixtures/$$f --out build/fixtures/$$f >/dev/null; done
	@$(WM) cfn-lint build \
		|| { echo "cfn-lint found problems (above). Fix the generator, then: make lint (project rules: wm/lint/cfn_rules/)" >&2; exit 1; }
	@$(CHECKOV_VENV)/bin/checkov -d build --framework cloudformation --compact --quiet --skip-download > build/checkov.txt \
		|| { cat build/checkov.txt; echo "checkov found failed checks (above). Fix the generator, or suppress with a reason in the resource's Metadata (wm/render.py: checkov_skip)." >&2; exit 1; }
	@$(WM) lint-iam
	@echo "lint: ruff, cfn-lint, checkov, the service role's permissions and parliament found nothing"

unit: $(BIN)/.installed ## Unit, property and snapshot tests only (no emulator)
	@$(BIN)/pytest -q -m "not emulator"

test: $(BIN)/.installed $(EMU_VENV)/.installed $(CHECKOV_VENV)/.installed graphviz ## Everything CI runs: lint, generated files up to date, unit, snapshot and emulator tests
	@$(MAKE) --no-print-directory lint
	@$(WM) refresh --check
	@$(BIN)/pytest -q -p no:cacheprovider

refresh: $(BIN)/.installed graphviz ## After any change: rewrite snapshots, docs/ (reference, inventory, diagrams) and the README's settings table
	@$(WM) refresh

##@ The local AWS emulator (emulator/)

emulator-start: $(EMU_VENV)/.installed $(BIN)/.installed ## Start the local AWS emulator (EMULATOR_PORT, default 5055)
	@mkdir -p $(EMU_DIR)
	@if $(WM) emulator-wait $(ENDPOINT) --timeout 0 2>/dev/null; then \
		echo "emulator already running at $(ENDPOINT)"; \
	else \
		nohup $(EMU_VENV)/bin/python emulator/server.py --port $(EMULATOR_PORT) > $(EMU_DIR)/server-$(EMULATOR_PORT).log 2>&1 & \
		echo $$! > $(EMU_DIR)/server-$(EMULATOR_PORT).pid; \
		$(WM) emulator-wait $(ENDPOINT) --timeout 30; \
		echo "emulator started at $(ENDPOINT) (log: $(EMU_DIR)/server-$(EMULATOR_PORT).log)"; \
	fi

emulator-stop: ## Stop the local AWS emulator
	@if [ -f $(EMU_DIR)/server-$(EMULATOR_PORT).pid ]; then \
		kill $$(cat $(EMU_DIR)/server-$(EMULATOR_PORT).pid) 2>/dev/null || true; \
		rm -f $(EMU_DIR)/server-$(EMULATOR_PORT).pid; echo "emulator on port $(EMULATOR_PORT) stopped"; \
	else echo "no emulator started by make on port $(EMULATOR_PORT)"; fi

##@ Deploy, always through Sceptre (wm/deploy/)

deploy: check-env $(BIN)/.installed ## Deploy ENV with sceptre launch (local: the emulator; prod: exactly the last make plan, CONFIRM=yes)
ifeq ($(ENV),local)
	@$(WM) validate local
	@$(MAKE) --no-print-directory emulator-start
	@$(EMU_ENV) $(WM) deploy local
else
	@$(WM) aws-check $(ENV)
	@$(WM) deploy $(ENV) $(if $(filter yes,$(CONFIRM)),--yes)
endif

deploy-deployer: $(BIN)/.installed ## Once per account, as an administrator: the GitHub OIDC deploy roles (config/account)
	@$(WM) aws-check account
	@$(WM) deploy account $(if $(filter yes,$(CONFIRM)),--yes)

plan: check-env $(BIN)/.installed ## Change sets for every stack of ENV: a table, and build/plan-<env>.md for review
ifeq ($(ENV),local)
	@$(WM) emulator-wait $(ENDPOINT) --timeout 0
endif
	@$(call aws_cmd,plan $(ENV))

drift: check-env $(BIN)/.installed ## What differs between the account and the code, resource by resource
	@$(call aws_cmd,drift $(ENV))

destroy: check-env $(BIN)/.installed ## Delete every stack of ENV (retained logs and queues stay; prod asks for its name: CONFIRM=prod)
ifeq ($(ENV),local)
	@$(WM) emulator-wait $(ENDPOINT) --timeout 0
	@$(EMU_ENV) $(SCEPTRE) --no-colour delete -y dev
else
	@$(WM) aws-check $(ENV)
	@$(WM) confirm-destroy $(ENV) --confirm "$(CONFIRM)"
	@$(SCEPTRE) --no-colour delete $(if $(filter prod,$(ENV)),-y) $(ENV)
endif

secret: check-env $(BIN)/.installed ## Store secret NAME of ENV in Parameter Store, read from stdin without echo
	@test -n "$(NAME)" || { echo "error: give the secret's name, e.g. make secret ENV=$(ENV) NAME=SLACK_API_TOKEN" >&2; exit 2; }
ifeq ($(ENV),local)
	@$(EMU_ENV) $(WM) secret local $(NAME)
else
	@$(WM) aws-check $(ENV) >/dev/null
	@$(WM) secret $(ENV) $(NAME)
endif

##@ Runs (wm/operations/)

status: check-env $(BIN)/.installed ## One row per model of ENV: schedule, next run, last run, logs
	@$(call aws_cmd,status $(ENV))

run: check-env $(BIN)/.installed ## Start MODEL of ENV now, exactly as its schedule would
	@$(call aws_cmd,run $(ENV) $(MODEL))

logs: check-env $(BIN)/.installed ## Print the log of MODEL's latest run (TASK=<id> for another; FOLLOW=no)
	@$(call aws_cmd,logs $(ENV) $(MODEL) $(if $(TASK),--task $(TASK)) $(if $(filter no,$(FOLLOW)),--no-follow))

smoke: check-env $(BIN)/.installed ## Acceptance run of ENV (local or dev): deploy, a dry run, a failed start, both alerts, a job; a pass/fail table
ifeq ($(ENV),local)
	@$(MAKE) --no-print-directory emulator-start
	@$(EMU_ENV) $(WM) smoke local --deploy "$(MAKE) --no-print-directory deploy EMULATOR_PORT=$(EMULATOR_PORT)" $(if $(MODEL),--model $(MODEL))
else
	@$(WM) smoke $(ENV) --deploy "$(MAKE) --no-print-directory deploy ENV=$(ENV)" $(if $(MODEL),--model $(MODEL)) $(if $(WAIT),--wait $(WAIT))
endif

##@ Fan-out jobs on AWS Batch (jobs/, wm/operations/jobs.py)

submit: check-env $(BIN)/.installed ## Submit JOB of ENV (SIZE=<children>); prints its ID and what it can cost at most
	@$(call aws_cmd,submit $(ENV) $(if $(JOB),--job $(JOB)) $(if $(SIZE),--size $(SIZE)))

jobs: check-env $(BIN)/.installed ## Next scheduled submissions, recent submissions with progress (JOB=); ID=<id>: its failed children
	@$(call aws_cmd,jobs $(ENV) $(if $(JOB),--job $(JOB)) $(if $(ID),--id $(ID)))

cancel: check-env $(BIN)/.installed ## Cancel submission ID of ENV
	@$(call aws_cmd,cancel $(ENV) $(if $(ID),--id $(ID)))

results: check-env $(BIN)/.installed ## List submission ID's outputs (GET=<folder> downloads them)
	@$(call aws_cmd,results $(ENV) $(if $(ID),--id $(ID)) $(if $(GET),--get $(GET)))

##@ Cut over from the hand-built setup (wm/cutover/)

migrate: check-env $(BIN)/.installed ## Compare the hand-built setup with ENV (read-only; build/migrate-<env>.md); STEP=secrets|switch|rollback|cleanup acts
	@$(call aws_cmd,migrate $(ENV) $(if $(STEP),--step $(STEP)) $(if $(MODEL),--model $(MODEL)) $(if $(filter yes,$(OVERWRITE)),--overwrite) $(if $(filter yes,$(FORCE)),--force) $(if $(filter yes,$(CONFIRM)),--yes))

emulator-handbuilt: $(EMU_VENV)/.installed ## Recreate the hand-built setup in the emulator (emulator/handbuilt.yaml), to rehearse make migrate
	@$(MAKE) --no-print-directory emulator-start
	@$(EMU_ENV) $(EMU_VENV)/bin/python emulator/handbuilt.py

##@ Reports (wm/reports/)

graphviz:
	@command -v dot >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing graphviz (Debian package)"; \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
		else echo "error: make refresh needs graphviz's dot: sudo apt-get install graphviz (or brew install graphviz)" >&2; exit 1; fi; }

cost: check-env $(BIN)/.installed ## Monthly cost of ENV per model and in total (MODEL=, DURATION=<minutes>)
	@$(WM) cost $(ENV) $(if $(MODEL),--model $(MODEL)) $(if $(DURATION),--duration $(DURATION))

##@ Other

bench: $(BIN)/.installed $(EMU_VENV)/.installed ## Time rendering, cfn-lint and emulator deploys (5, 50, 200 models)
	@$(BIN)/python bench/bench.py

clean: ## Remove build output (keeps the virtual environments)
	rm -rf build
