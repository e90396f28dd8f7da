# The two commands: `make cutover` (the whole cutover on a local lab) and `make test` (every test).
# Everything else is a step of those. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PYTHON    ?= python3
INVENTORY ?= inventories/lab/hosts.yml
# ROWS=N: a new lab's legacy holds N generated examinations instead of the 1,250-row workbook (make site,
# cutover; an existing lab made for another size is refused: make lab-destroy first).
ROWS ?=
ifneq ($(ROWS),)
export RADIOLOGY_ROWS := $(ROWS)
endif
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

PY_APPS := apps/contract apps/testkit apps/legacy_api apps/imaging_api apps/migration apps/ops
APP_PYPROJECTS := $(wildcard $(addsuffix /pyproject.toml,$(PY_APPS)))
ROLE_SCENARIOS := $(sort $(dir $(wildcard roles/*/molecule/*/molecule.yml)))
TOP_SCENARIOS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard molecule/*/molecule.yml)))))

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: bootstrap
bootstrap: ## install missing system packages (Docker, debootstrap, PostgreSQL, Chromium) and start dockerd
	scripts/bootstrap-host.sh

# Every package of the virtualenv comes from requirements/controller.lock with its sha256 (pip refuses anything
# else); the apps are installed from source on top, built with the locked setuptools (no build isolation, so
# nothing is fetched unpinned), and `pip check` proves the set consistent.
$(VENV)/.installed: requirements/controller.lock $(APP_PYPROJECTS)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+ with venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r requirements/controller.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation $(addprefix -e ,$(dir $(APP_PYPROJECTS)))
	$(VENV)/bin/pip check
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create the project virtualenv with the pinned toolchain and the apps

# The locks: re-resolved from the top-level pins only when asked (needs the package index). apps.lock is what the
# hosts' wheelhouse is built from (Python 3.11, x86_64 Linux); controller.lock holds the same versions of those.
.PHONY: lock
lock: venv ## re-resolve requirements/*.txt into the hashed locks requirements/*.lock (needs the package index)
	uv pip compile --quiet --generate-hashes --custom-compile-command "make lock" --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 -o requirements/apps.lock requirements/apps.txt
	uv pip compile --quiet --generate-hashes --custom-compile-command "make lock" --python-version 3.11 \
	  -c requirements/apps.lock -o requirements/controller.lock requirements/controller.txt requirements/apps.txt

apps/frontend/node_modules/.installed: apps/frontend/package-lock.json
	cd apps/frontend && npm ci --no-audit --no-fund
	touch $@

.PHONY: frontend-deps
frontend-deps: apps/frontend/node_modules/.installed

.PHONY: lab-image
lab-image: bootstrap ## build the lab's Debian 12 systemd image locally (cached)
	scripts/lab-image.sh

.PHONY: lab
lab: lab-image venv ## bring up the lab containers of INVENTORY (default: four hosts) and its CA and certificates
	ansible-playbook -i $(INVENTORY) playbooks/lab_pki.yml
	ansible-playbook -i $(INVENTORY) playbooks/lab_up.yml

.PHONY: lab-destroy
lab-destroy: venv ## remove the lab containers of INVENTORY and their network
	ansible-playbook -i $(INVENTORY) playbooks/lab_down.yml

.PHONY: lint
lint: venv ## yamllint, ansible-lint (production profile, offline), ruff
	yamllint --strict .
	ansible-lint --offline --profile production
	ruff check .
	ruff format --check .

.PHONY: unit
unit: venv frontend-deps ## the apps' Python tests (real DuckDB, PostgreSQL, HTTP; UNIT_JOBS=2 folders at a time), the frontend's unit tests
	scripts/unit-tests.sh
	cd apps/frontend && npm test --silent

.PHONY: molecule
molecule: lab-image venv artifacts ## every molecule scenario: the roles' (MOLECULE_JOBS=2 at a time), then the end-to-end ones
	scripts/molecule-roles.sh $(ROLE_SCENARIOS)
	@for s in $(TOP_SCENARIOS); do echo "== molecule $$s"; molecule test -s $$s || exit 1; done

.PHONY: check
check: lint unit ## the everyday loop: lint and the unit and service tests (no lab, a few minutes)
	@echo "make check: all passed"

.PHONY: test
# The lab image (debootstrap: mostly downloads) is built beside the virtualenv and the artifacts (pip, npm, builds).
test: bootstrap ## every test, from a bare Debian machine
	$(MAKE) --no-print-directory --output-sync=target -j2 lab-image artifacts
	$(MAKE) --no-print-directory lint unit molecule
	@echo "make test: all passed"

.PHONY: artifacts
artifacts: venv frontend-deps ## build the wheelhouse, both frontend releases and the lab workbook (cached)
	scripts/build-artifacts.sh

# Lab runs take their secrets from .lab/secrets.env (made once, random); real hosts use ansible-vault.
LAB_ENV = set -a; eval "$$(scripts/lab-secrets.sh)"; set +a
RUN_STAMP := $(shell date -u +%Y%m%dT%H%M%SZ)
# The URL at which this machine reaches the inventory's nginx (radiology_web_url of INVENTORY).
WEB_URL = $$(ansible -i $(INVENTORY) localhost -m ansible.builtin.debug -a var=radiology_web_url 2>/dev/null \
  | sed -n 's/.*"radiology_web_url": "\(.*\)".*/\1/p')

.PHONY: site
site: artifacts lab ## provision the lab: PostgreSQL, both services, nginx, the frontend on the legacy backend
	$(LAB_ENV); ansible-playbook -i $(INVENTORY) site.yml

# LOAD=N runs the project's bounded load (N simulated users browsing and writing through nginx, at most 20 minutes)
# during the cutover, so that the report carries real figures of what users saw; LOAD=0 (default) runs none.
LOAD ?= 0
.PHONY: cutover
cutover: site ## provision the lab (site), then the whole cutover on it (LOAD=100: with 100 users); prints the report path
	$(LAB_ENV); export RADIOLOGY_RUN_DIR=$(CURDIR)/reports/cutover-$(RUN_STAMP); rc=0; \
	  if [ "$(LOAD)" -gt 0 ]; then export RADIOLOGY_LOAD_USERS=$(LOAD); \
	    radiology-ops load --web "$(WEB_URL)" --users $(LOAD) --duration 1200 --max-requests 400000 \
	      --out "$$RADIOLOGY_RUN_DIR/load" --background; fi; \
	  ansible-playbook -i $(INVENTORY) cutover.yml || rc=$$?; \
	  if [ "$(LOAD)" -gt 0 ]; then radiology-ops load-stop --out "$$RADIOLOGY_RUN_DIR/load" || true; \
	    radiology-ops report --run-dir "$$RADIOLOGY_RUN_DIR" >/dev/null; fi; \
	  if [ $$rc -ne 0 ]; then echo "cutover FAILED. Report: $$RADIOLOGY_RUN_DIR/report.html"; exit 1; fi; \
	  echo "Frontend: $(WEB_URL)/   Report: $$RADIOLOGY_RUN_DIR/report.html"

.PHONY: rollback
rollback: venv ## roll the lab back to the legacy service, carrying new writes back; prints the report path
	$(LAB_ENV); export RADIOLOGY_RUN_DIR=$(CURDIR)/reports/rollback-$(RUN_STAMP); \
	  ansible-playbook -i $(INVENTORY) rollback.yml \
	  || { echo "rollback FAILED. Report: $$RADIOLOGY_RUN_DIR/report.html"; exit 1; }; \
	  echo "Frontend: $(WEB_URL)/   Report: $$RADIOLOGY_RUN_DIR/report.html"

.PHONY: backup
backup: venv ## one pgBackRest backup of the lab's database now (BACKUP_TYPE=full|diff|incr, default diff); lists the backups
	$(LAB_ENV); ansible-playbook -i $(INVENTORY) playbooks/backup.yml -e postgresql_backup_type=$(or $(BACKUP_TYPE),diff)

.PHONY: restore-drill
restore-drill: venv ## restore the latest backup to a point in time beside a standby and prove it equal (INVENTORY with two db hosts)
	$(LAB_ENV); ansible-playbook -i $(INVENTORY) playbooks/restore_drill.yml

.PHONY: failover
failover: venv ## promote the standby TO (e.g. TO=db2) after the primary is lost, and point the services at it
	@test -n "$(TO)" || { echo "make failover TO=<standby>: name the db host to promote"; exit 1; }
	$(LAB_ENV); ansible-playbook -i $(INVENTORY) playbooks/failover.yml -e radiology_failover_to=$(TO)

.PHONY: bench-failover
bench-failover: venv ## the failover under USERS users (default 50) on the lab_ha lab after a cutover: kills the primary, prints the figures
	INVENTORY=$(if $(filter inventories/lab/hosts.yml,$(INVENTORY)),inventories/lab_ha/hosts.yml,$(INVENTORY)) \
	  USERS=$(or $(USERS),50) scripts/bench-failover.sh

.PHONY: status
status: venv ## where the lab stands: who serves, write freezes, row counts, data version, last run, run lock (read-only)
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	  ansible-playbook -i $(INVENTORY) playbooks/status.yml -e radiology_status_text_out=$$out/status.txt \
	    > $$out/ansible.log 2>&1 || { cat $$out/ansible.log; echo "make status: reading the hosts failed (above)"; exit 1; }; \
	  cat $$out/status.txt

.PHONY: clean
clean: ## remove build outputs (not the lab)
	rm -rf build dist artifacts reports apps/frontend/dist

# Not part of `make test`: figures only, on loopback, bounded (fixed request counts, well under a minute).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--json reports/front-door.json --requests 600".
.PHONY: bench-front-door
bench-front-door: venv ## what HTTPS + HTTP Basic login cost on the studies search vs plain HTTP (one local nginx)
	python -m radiology_ops.bench_frontdoor $(BENCH_ARGS)

# Not part of `make test`: destroys and rebuilds the lab of INVENTORY, then a cutover, a rollback and a cutover whose
# new service dies during the watch, each under USERS users; prints their figures. At ROWS=1000000, about an hour.
USERS ?= 50
.PHONY: bench-cutover
bench-cutover: artifacts lab-image ## the cutover's figures at ROWS examinations under USERS users (write freeze, errors, rollback, switch, rows/s)
	ROWS=$(or $(ROWS),0) USERS=$(USERS) INVENTORY=$(INVENTORY) WEB_URL="$(WEB_URL)" BENCH_RUNS="$(BENCH_RUNS)" \
	  scripts/bench-cutover.sh
