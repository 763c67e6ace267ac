# Parley - build, run and test. `make` builds build/parley; `make run` starts it
# with the demo data; `make test` runs every test under ASan + UBSan; `make fuzz`
# runs the fuzzers longer.

CC      ?= cc
PKGS    := libevent libevent_pthreads jansson sqlite3 libcurl md4c libargon2 libcrypto libpng libpq hiredis
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -iquote src -MMD -MP
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRC      := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
OBJ      := $(SRC:src/%.c=build/obj/%.o) build/obj/web/assets_bin.o
ASAN_OBJ := $(SRC:src/%.c=build/asan/obj/%.o) build/obj/web/assets_bin.o
ASSETS   := $(wildcard static/*) node_modules/.package-lock.json

UNIT_TESTS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/test_*.c))

LISTEN ?= 127.0.0.1:8080
DB     ?= parley.db

.PHONY: all run cluster test unit-test http-test browser-test soak deps clean
all: build/parley

# Debian packages (only the missing ones) and the npm lockfile's packages.
build/.deps-build: scripts/install-deps.sh
	@mkdir -p build && scripts/install-deps.sh build && touch $@
build/.deps-test: scripts/install-deps.sh
	@mkdir -p build && scripts/install-deps.sh test && touch $@
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
deps: build/.deps-test node_modules/.package-lock.json

build/obj/%.o: src/%.c | build/.deps-build
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@
build/asan/obj/%.o: src/%.c | build/.deps-build
	@mkdir -p $(dir $@)
	@echo "CC (asan) $<"; $(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) -c $< -o $@
build/obj/web/assets_bin.o: src/web/assets.S $(ASSETS)
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

build/parley: build/obj/main.o $(OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(PKG_LIBS)
build/asan/parley: build/asan/obj/main.o $(ASAN_OBJ)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(PKG_LIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_OBJ) | build/.deps-test
	@mkdir -p $(dir $@)
	@echo "LD $@"; $(CC) $(CFLAGS) $(SAN) $(PKG_CFLAGS) $< $(ASAN_OBJ) -o $@ $(PKG_LIBS) $(shell pkg-config --libs cmocka)

run: build/parley
	build/parley serve --demo --listen $(LISTEN) --db $(DB)

# Three nodes on a throwaway PostgreSQL and Redis behind haproxy on 127.0.0.1:PORT
# (PORT=8080 unless given) until Ctrl-C (scripts/cluster.sh).
cluster: build/parley build/.deps-test
	scripts/cluster.sh

test: deps unit-test fuzz-smoke http-test browser-test

# on a throwaway PostgreSQL too, for the tests of the PostgreSQL store (PARLEY_TEST_PG)
unit-test: $(UNIT_TESTS)
	@scripts/with-postgres.sh sh -c 'set -e; for t in $(UNIT_TESTS); do echo "== $$t"; timeout 60 $$t; done'

# The HTTP tests twice: on SQLite, then on a throwaway PostgreSQL cluster that
# scripts/with-postgres.sh starts and removes (checked first: one line if it is missing).
# Tests that stop PostgreSQL skip themselves there; they run after, alone, on a cluster of
# their own (PARLEY_TEST_PG_OWNED). Last, the tests of several nodes, with a throwaway
# Redis too (scripts/with-redis.sh), one file at a time: they measure latency (on the
# optimized build, PARLEY_PERF_BIN), stop Redis and PostgreSQL and kill nodes
# (PARLEY_TEST_REDIS_OWNED, PARLEY_TEST_PG_OWNED); elsewhere they skip themselves.
HTTP_TESTS        := PARLEY_BIN=build/asan/parley node --test --test-concurrency=2
PG_OWNED_TESTS    := tests/http/pg_outage.test.mjs
CLUSTER_TESTS     := tests/http/cluster.test.mjs tests/http/redis_outage.test.mjs tests/http/cluster_faults.test.mjs tests/http/cluster_presence.test.mjs
http-test: build/asan/parley build/parley node_modules/.package-lock.json
	@scripts/with-postgres.sh --check
	@scripts/with-redis.sh --check
	@echo "== HTTP tests on SQLite"
	env PARLEY_TEST_STORE=sqlite $(HTTP_TESTS) tests/http/
	@echo "== HTTP tests on PostgreSQL"
	scripts/with-postgres.sh env PARLEY_TEST_STORE=postgres $(HTTP_TESTS) tests/http/
	@echo "== HTTP tests that stop PostgreSQL, on a cluster of their own"
	scripts/with-postgres.sh env PARLEY_TEST_STORE=postgres PARLEY_TEST_PG_OWNED=1 $(HTTP_TESTS) $(PG_OWNED_TESTS)
	@echo "== Several nodes over Redis, one file at a time"
	scripts/with-postgres.sh scripts/with-redis.sh env PARLEY_TEST_STORE=postgres PARLEY_TEST_PG_OWNED=1 PARLEY_TEST_REDIS_OWNED=1 PARLEY_PERF_BIN=build/parley PARLEY_BIN=build/asan/parley node --test --test-concurrency=1 $(CLUSTER_TESTS)

# screenshots of the main pages, desktop and phone, kept for review
SCREENSHOT_DIR ?= build/screenshots
browser-test: build/asan/parley node_modules/.package-lock.json
	SCREENSHOT_DIR=$(SCREENSHOT_DIR) PARLEY_BIN=build/asan/parley node --test tests/browser/

# A few minutes of mixed load; memory and file descriptors must come back (SOAK_SECONDS).
soak: build/parley node_modules/.package-lock.json
	node bench/soak.mjs

clean:
	rm -rf build

# libFuzzer targets: `make fuzz` (FUZZ_SECONDS each), a short run in `make test`
include tests/fuzz/fuzz.mk
# `make bench`: Parley against nginx + nchan, side by side (bench/README.md)
include bench/bench.mk

-include $(shell find build -name '*.d' 2>/dev/null)
