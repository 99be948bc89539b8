# ngx_disclosure_module
#
#   make            build build/ngx_http_disclosure_module.so
#   make deps       install the Debian packages the project needs (as root)
#   make test       deps, build, SQL tests (pgTAP), HTTP tests (prove)
#   make demo       a local PostgreSQL with the sample reports, on port 5433
#   make demo-stop  stop it
#   make clean      remove build/, test logs and the demo cluster

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.NOTPARALLEL:       # deps before the build; the module's own make may be -j
.DEFAULT_GOAL := all

REPO    := $(CURDIR)
BUILD   := $(REPO)/build
NGX_SRC := /usr/share/nginx/src
PG_BIN  := /usr/lib/postgresql/15/bin
MODULE  := $(BUILD)/ngx_http_disclosure_module.so
SOURCES := $(wildcard ngx_disclosure_module/*.c ngx_disclosure_module/*.h)

DEB_PACKAGES := \
	make gcc libc6-dev perl \
	nginx nginx-dev libpq-dev libyajl-dev \
	postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl \
	libtest-base-perl libipc-run-perl libjson-pp-perl libhttp-tiny-perl

# the prove-run test directories (t/sql has its own runner)
PROVE_DIRS := t/db t/http

DEMO      := $(REPO)/.demo
DEMO_PORT := 5433
DEMO_DB   := disclosure

# PostgreSQL refuses to run as root: the server and initdb run as postgres
ifeq ($(shell id -u),0)
AS_PG := runuser -u postgres --
else
AS_PG :=
endif

.PHONY: all deps test demo demo-stop clean


all: $(MODULE)

$(BUILD)/Makefile: config
	@mkdir -p $(BUILD)
	echo "configure: $(NGX_SRC) --add-dynamic-module=$(REPO)" \
	     "(log: build/configure.log)"
	cd $(NGX_SRC)
	. ./conf_flags
	if ! ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(REPO) --builddir=$(BUILD) \
	        >$(BUILD)/configure.log 2>&1
	then
	    tail -n 30 $(BUILD)/configure.log
	    rm -f $(BUILD)/Makefile
	    exit 1
	fi

$(MODULE): $(BUILD)/Makefile $(SOURCES)
	@$(MAKE) --no-print-directory -C $(NGX_SRC) -f $(BUILD)/Makefile modules


deps:
	@missing=()
	for p in $(DEB_PACKAGES); do
	    s=$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null || true)
	    [ "$$s" = installed ] || missing+=("$$p")
	done
	[ $${#missing[@]} -eq 0 ] && exit 0
	echo "deps: installing $${missing[*]}"
	if [ "$$(id -u)" != 0 ]; then
	    echo "deps: run 'make deps' as root" >&2
	    exit 1
	fi
	# keep the nginx and postgresql packages from starting services
	policy=/usr/sbin/policy-rc.d
	if [ ! -e $$policy ]; then
	    printf '#!/bin/sh\nexit 101\n' >$$policy
	    chmod 755 $$policy
	    trap 'rm -f '$$policy EXIT
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "$${missing[@]}" </dev/null


# Both runners always run; each one's summary closes its own output.
test: deps all
	@rc=0
	t/sql/run || rc=1
	prove -r $(PROVE_DIRS) || rc=1
	exit $$rc


demo: deps
	@mkdir -p $(DEMO)
	[ "$$(id -u)" != 0 ] || chown postgres: $(DEMO)
	if [ ! -f $(DEMO)/data/PG_VERSION ]; then
	    $(AS_PG) $(PG_BIN)/initdb -D $(DEMO)/data -U postgres -A trust \
	        -E UTF8 --locale=C.UTF-8 >$(DEMO)/initdb.log
	fi
	if ! $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/data status >/dev/null; then
	    $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/data -l $(DEMO)/postgres.log \
	        -o "-c port=$(DEMO_PORT) -c listen_addresses=127.0.0.1" \
	        -o "-c unix_socket_directories=$(DEMO)" -w start >/dev/null
	fi
	psql=(psql -X -q -h $(DEMO) -p $(DEMO_PORT) -U postgres)
	if [ -z "$$("$${psql[@]}" -d postgres -Atc \
	        "SELECT 1 FROM pg_database WHERE datname = '$(DEMO_DB)'")" ]
	then
	    "$${psql[@]}" -d postgres -c "CREATE DATABASE $(DEMO_DB)"
	    sql/migrate -h $(DEMO) -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)
	    "$${psql[@]}" -v ON_ERROR_STOP=1 -d $(DEMO_DB) \
	        -f sql/sample/load.sql >/dev/null
	else
	    sql/migrate -h $(DEMO) -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)
	fi
	echo
	echo "PostgreSQL runs with the sample reports (log: .demo/postgres.log)."
	echo "Connect with:"
	echo
	echo "    psql -h 127.0.0.1 -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)"
	echo
	echo "The web pages come with the module issue.  Stop: make demo-stop"

demo-stop:
	@if [ -f $(DEMO)/data/PG_VERSION ] \
	    && $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/data status >/dev/null; then
	    $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/data -m fast -w stop
	else
	    echo "demo: not running"
	fi


clean: demo-stop
	rm -rf $(BUILD) $(DEMO) t/logs t/tmp
