# ngx_disclosure_module
#
#   make            build build/ngx_http_disclosure_module.so and
#                   build/disclosure-import (README, "Importing")
#   make deps       install the Debian packages the project needs (as root)
#   make test       deps, build, SQL tests (pgTAP), HTTP tests (prove)
#   make demo       a local PostgreSQL with the sample reports, on port 5433
#   make demo-stop  stop it
#   make clean      remove build/, test logs and the demo cluster
#
#   make test-asan      the HTTP tests with the module under ASan and UBSan
#   make test-valgrind  the HTTP tests with nginx under valgrind memcheck
#   make fuzz           libFuzzer targets, FUZZ_SECONDS (60) each
#   make fuzz-smoke     the same targets over their seed corpora only
#   make faults         wrk against nginx while PostgreSQL and nginx fail
#                       (t/faults/README.md)
#   make bench          the benchmarks of bench/README.md (not part of make test)
#   make deb            the Debian packages into build/deb/, checked by lintian

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

# disclosure-import: a published report page in, a report document out
IMPORT  := $(BUILD)/disclosure-import
IMPORT_SOURCES := $(wildcard import/*.c import/*.h)
IMPORT_CFLAGS := -O2 -g -Wall -Wextra -Werror -std=gnu11

DEB_PACKAGES := \
	make gcc libc6-dev perl \
	nginx nginx-dev libpq-dev libyajl-dev libxml2-dev zlib1g-dev \
	postgresql-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl \
	libipc-run-perl libjson-pp-perl libhttp-tiny-perl

# t/browser: Debian's headless Chromium and CJK fonts; Debian's node and npm
# only where none is installed (t/browser/axe.t runs npm ci for its modules)
BROWSER_PACKAGES := chromium fonts-noto-cjk \
	$(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm)

# make deb (dpkg-buildpackage, debian/) and t/deb/install.t
DEB_BUILD_PACKAGES := build-essential dpkg-dev debhelper fakeroot lintian
DEB_OUT := $(BUILD)/deb

# the prove-run test directories (t/sql has its own runner)
PROVE_DIRS := t/db t/http t/import t/browser t/bench t/deb

# make bench, and its smoke in make test (t/bench/smoke.t)
BENCH_PACKAGES := wrk php8.2-fpm php8.2-pgsql

# hardening (README, "Reliability"): the HTTP tests again with the module
# under sanitizers and valgrind, libFuzzer, faults under load
HARDEN_PACKAGES := clang-14 libclang-rt-14-dev llvm-14 valgrind wrk dpkg-dev
CLANG      := clang-14
ASAN_BUILD := $(REPO)/build-asan
ASAN_MODULE := $(ASAN_BUILD)/ngx_http_disclosure_module.so
FUZZ_BUILD := $(REPO)/build-fuzz
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANITIZE_DIRS := t/http
SANITIZER_LOGS := $(REPO)/t/logs/sanitizers
FUZZ_SECONDS ?= 60
FAULT_SECONDS ?= 12

DEMO      := /var/tmp/ngx-disclosure-demo
DEMO_PORT := 5433
DEMO_DB   := disclosure

# PostgreSQL refuses to run as root: the server and initdb run as postgres
ifeq ($(shell id -u),0)
AS_PG := runuser -u postgres --
else
AS_PG :=
endif

.PHONY: all deps deb-deps deb test demo demo-stop clean
.PHONY: harden-deps test-asan test-valgrind fuzz fuzz-smoke faults


all: $(MODULE) $(IMPORT)

# build/ and build-asan/ (CONFIGURE_EXTRA, see "make test-asan")
$(BUILD)/Makefile $(ASAN_BUILD)/Makefile: config
	@dir=$(@D)
	mkdir -p $$dir
	echo "configure: $(NGX_SRC) --add-dynamic-module=$(REPO)" \
	     "(log: $${dir#$(REPO)/}/configure.log)"
	cd $(NGX_SRC)
	. ./conf_flags
	if ! ./configure "$${NGX_CONF_FLAGS[@]}" $(CONFIGURE_EXTRA) \
	        --add-dynamic-module=$(REPO) --builddir=$$dir \
	        >$$dir/configure.log 2>&1
	then
	    tail -n 30 $$dir/configure.log
	    rm -f $$dir/Makefile
	    exit 1
	fi

$(MODULE): $(BUILD)/Makefile $(SOURCES)
	@$(MAKE) --no-print-directory -C $(NGX_SRC) -f $(BUILD)/Makefile modules

$(IMPORT): $(IMPORT_SOURCES)
	@mkdir -p $(BUILD)
	echo "cc: $@"
	$(CC) $(IMPORT_CFLAGS) $(CPPFLAGS) $(CFLAGS) $$(xml2-config --cflags) \
	    $(LDFLAGS) -o $@ $(filter %.c,$(IMPORT_SOURCES)) \
	    $$(xml2-config --libs) -lyajl


deps: PACKAGES = $(DEB_PACKAGES) $(BROWSER_PACKAGES) $(BENCH_PACKAGES) \
	$(DEB_BUILD_PACKAGES)
deb-deps: PACKAGES = $(DEB_PACKAGES) $(DEB_BUILD_PACKAGES)
harden-deps: PACKAGES = $(DEB_PACKAGES) $(HARDEN_PACKAGES)
bench-deps: PACKAGES = $(DEB_PACKAGES) $(BENCH_PACKAGES)

deps harden-deps bench-deps deb-deps:
	@missing=()
	for p in $(PACKAGES); do
	    s=$$(dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null || true)
	    [ "$$s" = installed ] || missing+=("$$p")
	done
	[ $${#missing[@]} -eq 0 ] && exit 0
	echo "$@: installing $${missing[*]}"
	if [ "$$(id -u)" != 0 ]; then
	    echo "$@: run 'make $@' as root" >&2
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


# libnginx-mod-http-disclosure and ngx-disclosure-tools (debian/), built by
# dpkg-buildpackage in a copy of the tree under /tmp, so that nothing of
# the build lands here; the .deb files go to build/deb/, and lintian checks
# them (it fails on errors, and prints warnings and notes).
deb: deb-deps
	@tmp=$$(mktemp -d /tmp/ngx-disclosure-deb.XXXXXX)
	trap 'rm -rf "$$tmp"' EXIT
	version=$$(dpkg-parsechangelog -l debian/changelog -S Version)
	src=$$tmp/ngx-disclosure-$$version
	mkdir -p $$src $(DEB_OUT)
	tar -C $(REPO) --exclude-vcs --exclude=./build --exclude=./build-asan \
	    --exclude=./build-fuzz --exclude=./t/logs --exclude=./t/tmp \
	    --exclude=node_modules -cf - . | tar -C $$src -xf -
	echo "deb: dpkg-buildpackage -us -uc -b in $$src" \
	     "(log: build/deb/build.log)"
	if ! (cd $$src && dpkg-buildpackage -us -uc -b) \
	        >$(DEB_OUT)/build.log 2>&1 </dev/null
	then
	    tail -n 40 $(DEB_OUT)/build.log
	    exit 1
	fi
	rm -f $(DEB_OUT)/*.deb $(DEB_OUT)/*.changes $(DEB_OUT)/*.buildinfo
	mv $$tmp/*.deb $$tmp/*.changes $$tmp/*.buildinfo $(DEB_OUT)/
	changes=$$(ls $(DEB_OUT)/*.changes)
	lintian --fail-on error --info --display-info $$changes \
	    | tee $(DEB_OUT)/lintian.log
	ls -1 $(DEB_OUT)/*.deb


# Both runners always run; each one's summary closes its own output.
test: deps all
	@rc=0
	t/sql/run || rc=1
	prove -r $(PROVE_DIRS) || rc=1
	exit $$rc


demo: deps all
	@mkdir -p $(DEMO)/pg $(DEMO)/run $(DEMO)/tmp
	chmod 755 $(DEMO)
	[ "$$(id -u)" != 0 ] || chown postgres: $(DEMO)/pg $(DEMO)/run
	if [ ! -f $(DEMO)/pg/data/PG_VERSION ]; then
	    $(AS_PG) $(PG_BIN)/initdb -D $(DEMO)/pg/data -U postgres -A trust \
	        -E UTF8 --locale=C.UTF-8 >$(DEMO)/pg/initdb.log
	fi
	if ! $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/pg/data status >/dev/null; then
	    $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/pg/data -l $(DEMO)/pg/postgres.log \
	        -o "-c port=$(DEMO_PORT) -c listen_addresses=127.0.0.1" \
	        -o "-c unix_socket_directories=$(DEMO)/run" -w start >/dev/null
	fi
	psql=(psql -X -q -h $(DEMO)/run -p $(DEMO_PORT) -U postgres)
	if [ -z "$$("$${psql[@]}" -d postgres -Atc \
	        "SELECT 1 FROM pg_database WHERE datname = '$(DEMO_DB)'")" ]
	then
	    "$${psql[@]}" -d postgres -c "CREATE DATABASE $(DEMO_DB)"
	    sql/migrate -h $(DEMO)/run -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)
	    "$${psql[@]}" -v ON_ERROR_STOP=1 -d $(DEMO_DB) \
	        -f sql/sample/load.sql >/dev/null
	    "$${psql[@]}" -d $(DEMO_DB) -c \
	        "CREATE ROLE demo_nginx LOGIN IN ROLE disclosure_reader"
	else
	    sql/migrate -h $(DEMO)/run -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)
	fi
	# the preview's role (a demo made before migration 0030 lacks it)
	if [ -z "$$("$${psql[@]}" -d postgres -Atc \
	        "SELECT 1 FROM pg_roles WHERE rolname = 'demo_preview'")" ]
	then
	    "$${psql[@]}" -d $(DEMO_DB) -c \
	        "CREATE ROLE demo_preview LOGIN IN ROLE disclosure_previewer"
	fi
	# the editors' basic auth: user "editor", a password made once
	if [ ! -s $(DEMO)/editors.password ]; then
	    (umask 077; head -c 64 /dev/urandom | base64 | tr -dc A-Za-z0-9 \
	        | head -c 12 >$(DEMO)/editors.password)
	fi
	password=$$(cat $(DEMO)/editors.password)
	PASSWORD=$$password perl -e 'my @c = ("a".."z", 0..9);
	    my $$salt = join "", map { $$c[rand @c] } 1..16;
	    print "editor:", crypt($$ENV{PASSWORD}, "\$$6\$$$$salt\$$"), "\n"' \
	    >$(DEMO)/editors.htpasswd
	chmod 644 $(DEMO)/editors.htpasswd
	# the example portal and the nginx configuration
	rm -rf $(DEMO)/portal
	cp -r conf/demo/portal $(DEMO)/portal
	chmod -R a+rX $(DEMO)/portal
	sed -e 's|@DEMO@|$(DEMO)|g' -e 's|@REPO@|$(REPO)|g' \
	    -e 's|@PGPORT@|$(DEMO_PORT)|g' conf/demo/nginx.conf.in >$(DEMO)/nginx.conf
	ngx=(/usr/sbin/nginx -p $(DEMO) -c $(DEMO)/nginx.conf)
	"$${ngx[@]}" -t -q
	# a restart, not a reload: a rebuilt module is loaded only by a new master
	if [ -f $(DEMO)/nginx.pid ] && kill -0 "$$(cat $(DEMO)/nginx.pid)" 2>/dev/null; then
	    pid=$$(cat $(DEMO)/nginx.pid)
	    "$${ngx[@]}" -s quit
	    while kill -0 $$pid 2>/dev/null; do sleep 0.1; done
	fi
	"$${ngx[@]}"
	for i in $$(seq 100); do
	    (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break
	    sleep 0.1
	done
	echo
	echo "The demo portal runs on http://127.0.0.1:8080/"
	echo
	echo "  home page           http://127.0.0.1:8080/"
	echo "  article with SSI    http://127.0.0.1:8080/article.html"
	echo "  all reports         http://127.0.0.1:8080/disclosure/"
	echo "  one agency          http://127.0.0.1:8080/disclosure/demo-district/"
	echo "  a report            http://127.0.0.1:8080/disclosure/demo-district/2024"
	echo "  the seed report     http://127.0.0.1:8080/disclosure/xigong-edz/2024"
	echo "  one table (SSI)     http://127.0.0.1:8080/disclosure/demo-district/2024/applications"
	echo "  open data           http://127.0.0.1:8080/disclosure/demo-district/2024.json"
	echo "                      http://127.0.0.1:8080/disclosure/demo-district/2024.csv"
	echo "  cache and database  http://127.0.0.1:8080/disclosure-status"
	echo
	echo "Editors' preview (drafts, basic auth: user editor, password $$password):"
	echo "  the 2025 draft      http://127.0.0.1:8080/disclosure-preview/demo-district/2025"
	echo "  all drafts          http://127.0.0.1:8080/disclosure-preview/"
	echo "  curl -u editor:$$password http://127.0.0.1:8080/disclosure-preview/demo-district/2025"
	echo
	echo "Editors: psql -h $(DEMO)/run -p $(DEMO_PORT) -U postgres -d $(DEMO_DB)"
	echo "Logs: $(DEMO)/nginx-error.log, $(DEMO)/pg/postgres.log.  Stop: make demo-stop"

demo-stop:
	@if [ -f $(DEMO)/nginx.pid ] && kill -0 "$$(cat $(DEMO)/nginx.pid)" 2>/dev/null; then
	    /usr/sbin/nginx -p $(DEMO) -c $(DEMO)/nginx.conf -s quit
	    echo "demo: nginx stopped"
	fi
	if [ -f $(DEMO)/pg/data/PG_VERSION ] \
	    && $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/pg/data status >/dev/null; then
	    $(AS_PG) $(PG_BIN)/pg_ctl -D $(DEMO)/pg/data -m fast -w stop >/dev/null
	    echo "demo: PostgreSQL stopped"
	fi


clean: demo-stop
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEMO) t/logs t/tmp


# -- hardening ----------------------------------------------------------------
#
# The module built by clang with AddressSanitizer and UndefinedBehavior-
# Sanitizer into build-asan/, loaded by Debian's nginx with the runtime
# preloaded (t/sanitize/asan-nginx says why clang and how).  -z nodelete
# keeps the module mapped after nginx's dlclose() at exit, so that leak
# reports can still name its functions.

$(ASAN_BUILD)/Makefile: CONFIGURE_EXTRA = --with-cc=$(CLANG) \
	--with-cc-opt="-g -O1 -fno-omit-frame-pointer $(SANITIZE) \
	    -fsanitize-ignorelist=$(REPO)/t/sanitize/asan.ignorelist" \
	--with-ld-opt="$(SANITIZE) -Wl,-z,nodelete"
$(ASAN_BUILD)/Makefile: t/sanitize/asan.ignorelist

$(ASAN_MODULE): $(ASAN_BUILD)/Makefile $(SOURCES)
	@$(MAKE) --no-print-directory -C $(NGX_SRC) -f $(ASAN_BUILD)/Makefile modules

# Every t/http test, then t/sanitize/check over the reports: fails on any
# sanitizer error and on any leak with a module frame.  (t/db never starts
# nginx.)
test-asan: harden-deps $(ASAN_MODULE)
	@logs=$(SANITIZER_LOGS)/asan
	rm -rf $$logs
	mkdir -p $$logs
	chmod 1777 $$logs           # workers run as nobody
	rc=0
	DISCLOSURE_MODULE=$(ASAN_MODULE) \
	DISCLOSURE_ASAN_RUNTIME=$$($(CLANG) -print-file-name=libclang_rt.asan-x86_64.so) \
	DISCLOSURE_NGINX_WRAPPER=$(REPO)/t/sanitize/asan-nginx \
	DISCLOSURE_SANITIZER_LOGS=$$logs \
	    prove -r $(SANITIZE_DIRS) || rc=1
	t/sanitize/check asan $$logs || rc=1
	exit $$rc

# The module as it ships (build/), nginx under valgrind memcheck.
test-valgrind: harden-deps all
	@logs=$(SANITIZER_LOGS)/valgrind
	rm -rf $$logs
	mkdir -p $$logs
	chmod 1777 $$logs
	rc=0
	DISCLOSURE_NGINX_WRAPPER=$(REPO)/t/sanitize/valgrind-nginx \
	DISCLOSURE_SANITIZER_LOGS=$$logs DISCLOSURE_TIME_FACTOR=3 \
	    prove -r $(SANITIZE_DIRS) || rc=1
	t/sanitize/check valgrind $$logs || rc=1
	exit $$rc


# libFuzzer targets fuzz/*.c against nginx's own core (fuzz/build says how);
# FUZZ_SECONDS each.  fuzz-smoke runs them over their seeds only.
$(FUZZ_BUILD)/bin: $(SOURCES) $(IMPORT_SOURCES) config $(wildcard fuzz/*.c fuzz/*.h) fuzz/build
	@fuzz/build $(FUZZ_BUILD)
	touch $@

fuzz: harden-deps $(FUZZ_BUILD)/bin
	@FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run $(FUZZ_BUILD)

fuzz-smoke: harden-deps $(FUZZ_BUILD)/bin
	@fuzz/run $(FUZZ_BUILD) --smoke


# wrk against nginx while PostgreSQL, its standby, nginx's workers and its
# configuration fail (t/faults/README.md, whose table it rewrites); about
# two minutes
faults: harden-deps all
	@FAULT_SECONDS=$(FAULT_SECONDS) t/faults/run --write


# The benchmarks (bench/README.md): their own PostgreSQL, nginx and php-fpm
# on 127.0.0.1, under ten minutes.  make bench BENCH_ARGS=--smoke for a few
# seconds; bench/run --help for the options.
BENCH_ARGS ?=

.PHONY: bench bench-deps
bench: bench-deps all
	@bench/run $(BENCH_ARGS)
