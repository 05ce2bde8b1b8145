# collab-bridge (the WebSocket server in server/) and its database smoke test, included by the top-level Makefile.
#
#   build/collab-bridge   the bridge: server/*.cpp, objects in build/obj/server/
#   build/db-smoke        tests/bridge/db_smoke.cpp + server/db.cpp + server/log.cpp: the database layer against a
#                         real PostgreSQL (builds without the rest of the bridge)
#   build/bridge-unit-tests  GoogleTest unit tests of bridge modules (tests/bridge/*_test.cpp) linked with the
#                         server objects they test (BRIDGE_UNIT_DEPS); no database needed
#
# Targets: bridge, bridge-db-test (needs PGHOST and PGPORT of a running server; DB_SMOKE_ARGS passes options, see
# `build/db-smoke --help`), bridge-unit-test (BRIDGE_UNIT_ARGS passes options, e.g. --gtest_filter=Jwt*).

BRIDGE_CXX      ?= g++
BRIDGE_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror
BRIDGE_CPPFLAGS := -Iserver -Iextension/core -I/usr/include/postgresql -MMD -MP
BRIDGE_LDLIBS   := -lwebsockets -lev -lpq -ljansson -lssl -lcrypto -pthread
DB_SMOKE_LDLIBS := -lpq -ljansson -pthread
DB_SMOKE_ARGS   ?=
BRIDGE_GTEST_LIBS := -lgtest_main -lgtest -pthread
BRIDGE_UNIT_LDLIBS := -ljansson -lssl -lcrypto
BRIDGE_UNIT_ARGS ?=

BRIDGE_BUILD := build
BRIDGE_OBJ   := $(BRIDGE_BUILD)/obj

BRIDGE_SRCS := $(sort $(wildcard server/*.cpp))
# The bridge shares the OT core's JSON reading and printing (extension/core/json.cpp: no PostgreSQL headers).
BRIDGE_OBJS := $(patsubst server/%.cpp,$(BRIDGE_OBJ)/server/%.o,$(BRIDGE_SRCS)) $(BRIDGE_OBJ)/core/json.o
DB_SMOKE_OBJS := $(BRIDGE_OBJ)/tests/bridge/db_smoke.o $(BRIDGE_OBJ)/server/db.o $(BRIDGE_OBJ)/server/log.o
BRIDGE_UNIT_SRCS := $(sort $(wildcard tests/bridge/*_test.cpp))
BRIDGE_UNIT_DEPS := $(BRIDGE_OBJ)/server/jwt.o $(BRIDGE_OBJ)/server/static_files.o
BRIDGE_UNIT_OBJS := $(patsubst tests/bridge/%.cpp,$(BRIDGE_OBJ)/tests/bridge/%.o,$(BRIDGE_UNIT_SRCS)) $(BRIDGE_UNIT_DEPS)

.PHONY: bridge bridge-db-test bridge-unit-test

bridge: $(BRIDGE_BUILD)/collab-bridge

$(BRIDGE_OBJ)/server/%.o: server/%.cpp
	@mkdir -p $(@D)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) $(BRIDGE_CPPFLAGS) -c $< -o $@

$(BRIDGE_OBJ)/core/%.o: extension/core/%.cpp
	@mkdir -p $(@D)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) $(BRIDGE_CPPFLAGS) -c $< -o $@

$(BRIDGE_OBJ)/tests/bridge/%.o: tests/bridge/%.cpp
	@mkdir -p $(@D)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) $(BRIDGE_CPPFLAGS) -c $< -o $@

$(BRIDGE_BUILD)/collab-bridge: $(BRIDGE_OBJS)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) -o $@ $^ $(BRIDGE_LDLIBS)

$(BRIDGE_BUILD)/db-smoke: $(DB_SMOKE_OBJS)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) -o $@ $^ $(DB_SMOKE_LDLIBS)

$(BRIDGE_BUILD)/bridge-unit-tests: $(BRIDGE_UNIT_OBJS)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) -o $@ $^ $(BRIDGE_GTEST_LIBS) $(BRIDGE_UNIT_LDLIBS)

-include $(BRIDGE_OBJS:.o=.d) $(DB_SMOKE_OBJS:.o=.d) $(BRIDGE_UNIT_OBJS:.o=.d)

bridge-unit-test: $(BRIDGE_BUILD)/bridge-unit-tests
	$(BRIDGE_BUILD)/bridge-unit-tests $(BRIDGE_UNIT_ARGS)

bridge-db-test: $(BRIDGE_BUILD)/db-smoke
	@if [ -z "$$PGHOST" ] || [ -z "$$PGPORT" ]; then \
		echo "bridge-db-test: set PGHOST and PGPORT to a running PostgreSQL 15, for example:" \
			'eval "$$(scripts/pg-cluster.sh --name test env)"' >&2; \
		exit 2; \
	fi
	$(BRIDGE_BUILD)/db-smoke $(DB_SMOKE_ARGS)
