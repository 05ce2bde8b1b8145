# libFuzzer targets (tests/fuzz/), included by the top-level Makefile. Built with clang++-14 and
# -fsanitize=fuzzer,address,undefined into build/fuzz/ (the core and the server objects they need are compiled again
# there with the same sanitizers; nothing else in build/ is touched).
#
#   build/fuzz/fuzz_text_unicode     text-unicode: strict parse, normalize, apply (string and rope), TP1, compose, invert
#   build/fuzz/fuzz_json0            json0: typed and jansson APIs agree; apply, transform, compose, invert, TP1
#   build/fuzz/fuzz_bridge_messages  the bridge's protocol engine (server/bridge.cpp) fed frames without sockets,
#                                    over a fake database (tests/fuzz/fake_db.cpp) that answers without PostgreSQL
#
# Targets:
#   fuzz-build   build the three fuzzers
#   fuzz         run each fuzzer FUZZ_SECONDS (default 300) on FUZZ_JOBS processes (default 1)
#   fuzz-smoke   run each fuzzer FUZZ_SMOKE_SECONDS (default 20): what `make test` runs
# Seeds are read from tests/fuzz/corpus/<target>/ (committed; not written to); new inputs go to
# build/fuzz/corpus/<target>/, crashes to build/fuzz/artifacts/<target>/ (replay: build/fuzz/<target> FILE).
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS=-runs=100000).

FUZZ_CXX      ?= clang++-14
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CXXFLAGS ?= -std=c++20 -O1 -g -Wall -Wextra
FUZZ_CPPFLAGS := -Iextension/core -Iserver -I/usr/include/postgresql -MMD -MP
FUZZ_SECONDS  ?= 300
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_JOBS     ?= 1
FUZZ_ARGS     ?=

FUZZ_BUILD := build/fuzz
FUZZ_OBJ   := $(FUZZ_BUILD)/obj
FUZZ_TARGETS := fuzz_text_unicode fuzz_json0 fuzz_bridge_messages
FUZZ_BINS  := $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS))

FUZZ_CORE_OBJS   := $(patsubst extension/core/%.cpp,$(FUZZ_OBJ)/core/%.o,$(sort $(wildcard extension/core/*.cpp)))
# The bridge's protocol engine and what it calls, without db.cpp (replaced by the fake) and the socket layer.
FUZZ_SERVER_OBJS := $(patsubst %,$(FUZZ_OBJ)/server/%.o,bridge ids log metrics)
FUZZ_ALL_OBJS := $(FUZZ_CORE_OBJS) $(FUZZ_SERVER_OBJS) $(patsubst %,$(FUZZ_OBJ)/fuzz/%.o,$(FUZZ_TARGETS) fake_db)

.PHONY: fuzz-build fuzz fuzz-smoke fuzz-clean

fuzz-build: $(FUZZ_BINS)

# Objects: instrumented for coverage (fuzzer-no-link) and sanitized; the fuzzer's main comes in at link time.
$(FUZZ_OBJ)/core/%.o: extension/core/%.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE) $(FUZZ_CPPFLAGS) -c $< -o $@

$(FUZZ_OBJ)/server/%.o: server/%.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE) $(FUZZ_CPPFLAGS) -c $< -o $@

$(FUZZ_OBJ)/fuzz/%.o: tests/fuzz/%.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE) $(FUZZ_CPPFLAGS) -c $< -o $@

$(FUZZ_BUILD)/libcollab_core.a: $(FUZZ_CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_text_unicode: $(FUZZ_OBJ)/fuzz/fuzz_text_unicode.o $(FUZZ_BUILD)/libcollab_core.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $(FUZZ_SANITIZE) -o $@ $^ -ljansson

$(FUZZ_BUILD)/fuzz_json0: $(FUZZ_OBJ)/fuzz/fuzz_json0.o $(FUZZ_BUILD)/libcollab_core.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $(FUZZ_SANITIZE) -o $@ $^ -ljansson

$(FUZZ_BUILD)/fuzz_bridge_messages: $(FUZZ_OBJ)/fuzz/fuzz_bridge_messages.o $(FUZZ_OBJ)/fuzz/fake_db.o \
                                    $(FUZZ_SERVER_OBJS) $(FUZZ_BUILD)/libcollab_core.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $(FUZZ_SANITIZE) -o $@ $^ -ljansson -lssl -lcrypto -pthread

-include $(FUZZ_ALL_OBJS:.o=.d)

# FUZZ_JOBS > 1: that many fuzzing processes (libFuzzer's -jobs / -workers, logs in fuzz-<n>.log).
FUZZ_PARALLEL = $(if $(filter-out 0 1,$(FUZZ_JOBS)),-jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS))

# Runs each fuzzer for $(1) seconds, one after the other; stops at the first finding.
define fuzz_run
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
		echo "fuzz: $$t for $(1) s"; \
		$(FUZZ_BUILD)/$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
			$(FUZZ_PARALLEL) -dict=tests/fuzz/json.dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ $(FUZZ_ARGS) \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t; \
	done
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
