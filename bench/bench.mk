# The benchmark: Parley vs nginx + nchan (bench/README.md). Included by the
# Makefile; also usable alone: make -f Makefile -f bench/bench.mk bench
#   make bench            every scenario, 3 runs each (RUNS=1 for a quick look)
#   make bench PARLEY=/path/to/parley   another build of the server
#   make bench-storm      10,000 streams resuming after kill -9 of their node: three
#                         nodes on Redis against one lone node (bench/cluster.sh)
# Needs: build/parley (non-ASan), build/bench/loadgen, build/bench/floor (a
# yardstick server, see bench/floor.c), build/bench/password_cost, and the Debian packages
# nginx, libnginx-mod-nchan, wrk, curl, postgresql and redis-server (installed by
# bench/run.sh when missing; S4 also runs Parley on a throwaway PostgreSQL cluster,
# bench/pg.sh; C2 and the storm add a throwaway Redis per run, bench/redis.sh).

BENCH_CC     ?= $(CC)
BENCH_CFLAGS := -std=c17 -O2 -g -Wall -Wextra -Werror

.PHONY: bench bench-deps bench-slow-db bench-storm

LOADGEN_SRC := $(wildcard bench/loadgen/*.c)
build/bench/loadgen: $(LOADGEN_SRC) $(wildcard bench/loadgen/*.h)
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) $(LOADGEN_SRC) -o $@

build/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) $< -o $@ $(shell pkg-config --libs sqlite3)

# one Argon2id hash with Parley's parameters (src/util/password.c)
PASSWORD_COST_OBJ := build/obj/util/password.o build/obj/util/log.o build/obj/util/xmalloc.o
build/bench/password_cost: bench/password_cost.c $(PASSWORD_COST_OBJ)
	@mkdir -p $(dir $@)
	$(BENCH_CC) $(BENCH_CFLAGS) -iquote src $< $(PASSWORD_COST_OBJ) -o $@ -largon2

bench-deps:
	bench/run.sh deps

# PARLEY=path: measure that binary instead of build/parley (which is then not built)
bench: build/bench/loadgen build/bench/floor build/bench/password_cost
	$(if $(PARLEY),,$(MAKE) build/parley)
	bench/run.sh deps
	bench/run.sh

# The reconnect storm, apart from `make bench`: its own results and summary
# (build/bench/storm.jsonl, storm-summary.txt); RUNS as for bench (3)
bench-storm: build/bench/loadgen
	$(if $(PARLEY),,$(MAKE) build/parley)
	bench/run.sh deps
	SCENARIOS=storm RESULTS=build/bench/storm.jsonl SUMMARY=build/bench/storm-summary.txt bench/run.sh

# PostgreSQL 20 ms away (a delaying proxy) against its own socket: what a slow database does
# to posts, /healthz, static files and other chats' live tokens (bench/slow_db.mjs)
bench-slow-db: build/parley node_modules/.package-lock.json
	PARLEY_BIN=build/parley scripts/with-postgres.sh node bench/slow_db.mjs
