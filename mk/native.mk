# Native (non-PGXS) build of the OT core and its tools, included by the top-level Makefile after PGXS.
#
# Everything is built under build/ (PGXS owns extension/core/*.o, so no objects are written next to the sources):
#   build/libcollab_core.a   the OT core (extension/core/*.cpp), objects in build/obj/core/
#   build/collab-ot          CLI over the type-erased API (tools/collab-ot.cpp); `collab-ot serve` for tests
#   build/unit-tests         GoogleTest unit tests (tests/unit/*.cpp)
#   build/trace-replay       editing-trace replay and benchmark (bench/trace_replay.cpp)
#   build/json0-bench        json0 apply / transform benchmark (bench/json0_bench.cpp; run by bench/json0.sh)
#
# Targets: native, unit-test, diff-test (DIFF_CASES=N, default 100000), diff-test-json0 (json0 against npm ot-json0,
# DIFF_CASES=N, default 100000), trace-test, bench-core
# (NATIVE_BENCH_REPEAT=N runs of the C++ replay, default 10; NATIVE_BENCH_NODE_REPEAT=N of the Node one, default 1:
# the Node reference takes about 30 s per replay of automerge-paper), json0-bench (build/json0-bench and npm
# ot-json0: what bench/json0.sh, the json0 benchmark, needs).
# The editing traces are read from $(SHARED_DIR)/traces, by default ../shared beside the repository.

NATIVE_CXX      ?= g++
NATIVE_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -fPIC
NATIVE_CPPFLAGS := -Iextension/core -MMD -MP
NATIVE_LDLIBS   := -ljansson
NATIVE_GTEST_LIBS := -lgtest_main -lgtest -pthread
NATIVE_NODE ?= node
NATIVE_NPM  ?= npm

NATIVE_BUILD := build
NATIVE_OBJ   := $(NATIVE_BUILD)/obj
NATIVE_CORE_LIB := $(NATIVE_BUILD)/libcollab_core.a

NATIVE_CORE_SRCS := $(sort $(wildcard extension/core/*.cpp))
NATIVE_CORE_OBJS := $(patsubst extension/core/%.cpp,$(NATIVE_OBJ)/core/%.o,$(NATIVE_CORE_SRCS))
NATIVE_UNIT_SRCS := $(sort $(wildcard tests/unit/*.cpp))
NATIVE_UNIT_OBJS := $(patsubst tests/unit/%.cpp,$(NATIVE_OBJ)/unit/%.o,$(NATIVE_UNIT_SRCS))
NATIVE_CLI_OBJ   := $(NATIVE_OBJ)/tools/collab-ot.o
NATIVE_TRACE_OBJ := $(NATIVE_OBJ)/bench/trace_replay.o
NATIVE_JSON0_BENCH_OBJ := $(NATIVE_OBJ)/bench/json0_bench.o
NATIVE_ALL_OBJS  := $(NATIVE_CORE_OBJS) $(NATIVE_UNIT_OBJS) $(NATIVE_CLI_OBJ) $(NATIVE_TRACE_OBJ) \
                    $(NATIVE_JSON0_BENCH_OBJ)

NATIVE_BINS := $(NATIVE_BUILD)/collab-ot $(NATIVE_BUILD)/unit-tests $(NATIVE_BUILD)/trace-replay \
               $(NATIVE_BUILD)/json0-bench

SHARED_DIR ?= $(abspath ..)/shared
NATIVE_TRACE_SRC_DIR := $(SHARED_DIR)/traces
NATIVE_TRACE_DIR := $(NATIVE_BUILD)/traces
NATIVE_TRACES    := automerge-paper friendsforever_flat
NATIVE_TRACE_JSON := $(patsubst %,$(NATIVE_TRACE_DIR)/%.json,$(NATIVE_TRACES))

DIFF_CASES   ?= 100000
NATIVE_BENCH_REPEAT ?= 10
NATIVE_BENCH_NODE_REPEAT ?= 1
NATIVE_DIFF_MODULES := tests/diff/node_modules/ot-text-unicode/package.json tests/diff/node_modules/ot-json0/package.json

.PHONY: native unit-test diff-test diff-test-json0 trace-test bench-core json0-bench native-clean

native: $(NATIVE_BINS)

$(NATIVE_OBJ)/core/%.o: extension/core/%.cpp
	@mkdir -p $(@D)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) $(NATIVE_CPPFLAGS) -c $< -o $@

$(NATIVE_OBJ)/unit/%.o: tests/unit/%.cpp
	@mkdir -p $(@D)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) $(NATIVE_CPPFLAGS) -c $< -o $@

$(NATIVE_OBJ)/tools/%.o: tools/%.cpp
	@mkdir -p $(@D)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) $(NATIVE_CPPFLAGS) -c $< -o $@

$(NATIVE_OBJ)/bench/%.o: bench/%.cpp
	@mkdir -p $(@D)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) $(NATIVE_CPPFLAGS) -c $< -o $@

$(NATIVE_CORE_LIB): $(NATIVE_CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(NATIVE_BUILD)/collab-ot: $(NATIVE_CLI_OBJ) $(NATIVE_CORE_LIB)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) -o $@ $^ $(NATIVE_LDLIBS)

$(NATIVE_BUILD)/trace-replay: $(NATIVE_TRACE_OBJ) $(NATIVE_CORE_LIB)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) -o $@ $^ $(NATIVE_LDLIBS)

$(NATIVE_BUILD)/json0-bench: $(NATIVE_JSON0_BENCH_OBJ) $(NATIVE_CORE_LIB)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) -o $@ $^ $(NATIVE_LDLIBS)

$(NATIVE_BUILD)/unit-tests: $(NATIVE_UNIT_OBJS) $(NATIVE_CORE_LIB)
	$(NATIVE_CXX) $(NATIVE_CXXFLAGS) -o $@ $^ $(NATIVE_GTEST_LIBS) $(NATIVE_LDLIBS)

-include $(NATIVE_ALL_OBJS:.o=.d)

unit-test: $(NATIVE_BUILD)/unit-tests
	$(NATIVE_BUILD)/unit-tests

# Node dependencies of the differential test and the Node benchmark (pinned by tests/diff/package-lock.json).
$(NATIVE_DIFF_MODULES) &: tests/diff/package.json tests/diff/package-lock.json
	$(NATIVE_NPM) ci --prefix tests/diff --no-audit --no-fund
	@touch $(NATIVE_DIFF_MODULES)

diff-test: $(NATIVE_BUILD)/collab-ot $(NATIVE_DIFF_MODULES)
	$(NATIVE_NODE) tests/diff/diff.js --cli $(NATIVE_BUILD)/collab-ot --cases $(DIFF_CASES)

diff-test-json0: $(NATIVE_BUILD)/collab-ot $(NATIVE_DIFF_MODULES)
	$(NATIVE_NODE) tests/diff/diff_json0.js --cli $(NATIVE_BUILD)/collab-ot --cases $(DIFF_CASES)

$(NATIVE_TRACE_SRC_DIR)/%.json.gz:
	@echo "trace $@ not found: set SHARED_DIR to the directory that holds traces/ (default ../shared)" >&2; exit 1

$(NATIVE_TRACE_DIR)/%.json: $(NATIVE_TRACE_SRC_DIR)/%.json.gz
	@mkdir -p $(@D)
	gunzip -c $< > $@.tmp
	mv $@.tmp $@

trace-test: $(NATIVE_BUILD)/trace-replay $(NATIVE_TRACE_JSON)
	@set -e; for t in $(NATIVE_TRACE_JSON); do $(NATIVE_BUILD)/trace-replay --check $$t; done

bench-core: $(NATIVE_BUILD)/trace-replay $(NATIVE_TRACE_DIR)/automerge-paper.json $(NATIVE_DIFF_MODULES)
	@set -e; trace=$(NATIVE_TRACE_DIR)/automerge-paper.json; \
	cpp_out=$$($(NATIVE_BUILD)/trace-replay --repeat $(NATIVE_BENCH_REPEAT) $$trace); echo "C++:  $$cpp_out"; \
	node_out=$$($(NATIVE_NODE) bench/trace_replay_node.js --repeat $(NATIVE_BENCH_NODE_REPEAT) $$trace); echo "Node: $$node_out"; \
	cpp_ms=$$(echo "$$cpp_out" | sed -n 's/.*best_ms=\([0-9.]*\).*/\1/p'); \
	node_ms=$$(echo "$$node_out" | sed -n 's/.*best_ms=\([0-9.]*\).*/\1/p'); \
	awk -v c="$$cpp_ms" -v n="$$node_ms" 'BEGIN { if (c <= 0 || n <= 0) exit 1; \
		printf "bench-core automerge-paper: cpp_ms=%s node_ms=%s ratio(node/cpp)=%.1f\n", c, n, n / c }'

# What bench/json0.sh runs: the C++ benchmark and npm ot-json0 for its Node reference.
json0-bench: $(NATIVE_BUILD)/json0-bench $(NATIVE_DIFF_MODULES)

native-clean:
	rm -rf $(NATIVE_BUILD)
