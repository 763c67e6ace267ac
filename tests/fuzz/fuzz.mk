# fuzz.mk - libFuzzer targets; `include tests/fuzz/fuzz.mk` from the Makefile
# (or try it as `make -f Makefile -f tests/fuzz/fuzz.mk fuzz-smoke`).
#
#   make fuzz-smoke   every target briefly over a copy of its seed corpus, and
#                     every saved crash in tests/fuzz/regressions/<target>/
#   make fuzz         every target for FUZZ_SECONDS (default 60) each
#
# Targets are built with clang into build/fuzz/<target>; working corpora live
# in build/fuzz/corpus/<target> (seeded from tests/fuzz/corpus/<target>, which
# is never written to) and crashes land in build/fuzz/artifacts/<target>/.
# To keep a crash as a regression, copy it to tests/fuzz/regressions/<target>/.

FUZZ_CC      ?= clang
FUZZ_CFLAGS  ?= -std=c17 -D_GNU_SOURCE -iquote src -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Wall -Wextra -Werror
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 1

FUZZ_TARGETS := fuzz_oai_stream fuzz_dice fuzz_eliza fuzz_mentions fuzz_sse_frame \
		fuzz_json_body fuzz_form fuzz_markdown fuzz_wire fuzz_card

# The src files each target links, and the pkg-config packages it needs.
FUZZ_SRC_fuzz_oai_stream := src/backends/oai_stream.c src/util/buf.c src/util/text.c src/util/xmalloc.c
FUZZ_PKG_fuzz_oai_stream := jansson
FUZZ_SRC_fuzz_dice       := src/backends/dice.c src/util/buf.c src/util/xmalloc.c
FUZZ_PKG_fuzz_dice       :=
FUZZ_SRC_fuzz_eliza      := src/backends/eliza.c src/util/buf.c src/util/xmalloc.c
FUZZ_PKG_fuzz_eliza      :=
FUZZ_SRC_fuzz_mentions   := src/chat/policy.c
FUZZ_PKG_fuzz_mentions   :=
FUZZ_SRC_fuzz_sse_frame  := src/sse/frame.c src/util/buf.c src/util/xmalloc.c
FUZZ_PKG_fuzz_sse_frame  :=
FUZZ_SRC_fuzz_json_body  := src/http/request.c src/util/buf.c src/util/problem.c src/util/text.c src/util/xmalloc.c
FUZZ_PKG_fuzz_json_body  := jansson
FUZZ_SRC_fuzz_form       := src/http/form.c src/util/buf.c src/util/problem.c src/util/text.c src/util/xmalloc.c
FUZZ_PKG_fuzz_form       := libevent jansson
FUZZ_SRC_fuzz_wire       := src/http/wire.c src/util/buf.c src/util/xmalloc.c
FUZZ_PKG_fuzz_wire       :=
FUZZ_SRC_fuzz_markdown   := src/web/markdown.c src/web/html.c src/util/buf.c src/util/xmalloc.c
FUZZ_PKG_fuzz_markdown   := md4c
FUZZ_SRC_fuzz_card       := src/chat/card.c src/util/buf.c src/util/problem.c src/util/text.c src/util/xmalloc.c
FUZZ_PKG_fuzz_card       := jansson libpng libcrypto zlib

FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/%)
FUZZ_HEADERS := $(wildcard src/*.h src/*/*.h)

.PHONY: fuzz-build fuzz-smoke fuzz

define FUZZ_RULE
build/fuzz/$(1): tests/fuzz/$(1).c $$(FUZZ_SRC_$(1)) $$(FUZZ_HEADERS) tests/fuzz/fuzz.mk
	@mkdir -p build/fuzz
	@echo "FUZZ-CC $$@"; $$(FUZZ_CC) $$(FUZZ_CFLAGS) \
	    $$(if $$(FUZZ_PKG_$(1)),$$(shell pkg-config --cflags $$(FUZZ_PKG_$(1)))) \
	    $$< $$(FUZZ_SRC_$(1)) -o $$@ \
	    $$(if $$(FUZZ_PKG_$(1)),$$(shell pkg-config --libs $$(FUZZ_PKG_$(1))))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz-build: $(FUZZ_BINS)

# Runs $(1) for $(2) seconds over build/fuzz/corpus/$(1), seeded afresh from
# tests/fuzz/corpus/$(1) (files already there are kept).
define FUZZ_RUN
	@mkdir -p build/fuzz/corpus/$(1) build/fuzz/artifacts/$(1)
	@if [ -d tests/fuzz/corpus/$(1) ]; then cp -R tests/fuzz/corpus/$(1)/. build/fuzz/corpus/$(1)/; fi
	@echo "== $(1): $(2)s"
	@ASAN_OPTIONS=quarantine_size_mb=16 \
	    build/fuzz/$(1) -max_total_time=$(2) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	    -artifact_prefix=build/fuzz/artifacts/$(1)/ build/fuzz/corpus/$(1) \
	    >build/fuzz/$(1).log 2>&1 || { tail -n 60 build/fuzz/$(1).log; \
	    echo "$(1) failed: crash input in build/fuzz/artifacts/$(1)/, log build/fuzz/$(1).log"; exit 1; }
	@grep -E '^#[0-9]+[[:space:]]+DONE' build/fuzz/$(1).log | tail -n 1 || true

endef

# Replays every saved crash of $(1) (the .gitkeep placeholder aside).
define FUZZ_REPLAY
	@set -e; if [ -d tests/fuzz/regressions/$(1) ]; then \
	    files=$$(find tests/fuzz/regressions/$(1) -type f ! -name .gitkeep | sort); \
	    if [ -n "$$files" ]; then \
	        echo "== $(1): replaying $$(echo "$$files" | wc -l) regression file(s)"; \
	        build/fuzz/$(1) -runs=1 $$files >build/fuzz/$(1).replay.log 2>&1 || \
	            { tail -n 60 build/fuzz/$(1).replay.log; echo "$(1): a regression fails again"; exit 1; }; \
	    fi; \
	fi

endef

fuzz-smoke: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_REPLAY,$(t)))
	$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_RUN,$(t),$(FUZZ_SMOKE_SECONDS)))

fuzz: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_REPLAY,$(t)))
	$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_RUN,$(t),$(FUZZ_SECONDS)))
