# pg_collab: PostgreSQL extension (PGXS, C++20) plus native tools, tests and benchmarks.
#
#   make                 build the extension (and, via `make native`, the CLI, unit tests and benchmarks)
#   make install         install the extension into the PostgreSQL found by pg_config
#   make installcheck    pg_regress + isolation tests against a running server (PGHOST/PGPORT)
#   make test            everything: installs missing packages, builds, starts a private cluster, runs all tests
#   make run             a private PostgreSQL with the extension, kept running until Ctrl-C
#   make bench           benchmarks (figures printed; see docs/benchmarks.md)
#   make web             the web editor's bundle (web/dist), served by collab-bridge --web-root
#   make chaos           a long fault-injection run (CHAOS_DURATION=600) against PGHOST/PGPORT (tests/chaos)
#   make fuzz            the libFuzzer targets (tests/fuzz), FUZZ_SECONDS=300 each; make fuzz-smoke: 20 s each
#   make sanitize        an ASan+UBSan bridge in build/asan (make sanitize-unit: unit tests under ASan+UBSan)
#   make soak            1,000 clients on one bridge for 10 minutes: RSS and latency over time, plot (bench/soak)

EXTENSION  = pg_collab
EXTVERSION = 0.1.0
MODULE_big = pg_collab

CORE_SRCS = $(sort $(wildcard extension/core/*.cpp))
PG_SRCS   = $(sort $(wildcard extension/pg/*.cpp))
OBJS      = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# The install script is the concatenation of extension/sql/*.sql in name order (documents, access control, auth,
# privileges).
SQL_PARTS  = $(sort $(wildcard extension/sql/*.sql))
DATA_built = extension/pg_collab--$(EXTVERSION).sql

REGRESS      = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION      = $(basename $(notdir $(sort $(wildcard tests/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=tests/isolation --load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config
# PostgreSQL 15's server headers are not -Wextra clean in C++: include them as system headers so that -Werror applies
# to our code only.
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server) -Iextension/core
# -MMD -MP: recompile an object when a header it includes changes (PGXS tracks no header dependencies itself).
PG_CXXFLAGS = -std=c++20 -Wall -Wextra -Werror -MMD -MP
SHLIB_LINK  = -ljansson -lcrypto -lstdc++
# PGXS would compile every .cpp to LLVM bitcode with clang-14 without our -std flag; JIT inlining buys us nothing.
override with_llvm = no

EXTRA_CLEAN = build output_iso results regression.diffs regression.out $(OBJS:.o=.d)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

extension/pg_collab--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@
-include $(OBJS:.o=.d)

# Native (non-PGXS) build: the OT CLI, GoogleTest unit tests, trace replay and benchmarks, in build/.
include mk/native.mk

.PHONY: test run bench native
test:
	scripts/test.sh
run:
	scripts/run.sh
bench:
	scripts/bench.sh
include mk/bridge.mk
include mk/web.mk
include mk/chaos.mk
include mk/fuzz.mk
include mk/sanitize.mk
include mk/soak.mk
