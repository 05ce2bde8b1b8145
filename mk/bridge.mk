# collab-bridge (the WebSocket server in server/) and its database smoke test, included by the top-level Makefile.
#
#   build/collab-bridge   the bridge: server/*.cpp, objects in build/obj/server/
#   build/db-smoke        tests/bridge/db_smoke.cpp + server/db.cpp + server/log.cpp: the database layer against a
#                         real PostgreSQL (builds without the rest of the bridge)
#
# Targets: bridge, bridge-db-test (needs PGHOST and PGPORT of a running server; DB_SMOKE_ARGS passes options, see
# `build/db-smoke --help`).

BRIDGE_CXX      ?= g++
BRIDGE_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror
BRIDGE_CPPFLAGS := -Iserver -I/usr/include/postgresql -MMD -MP
BRIDGE_LDLIBS   := -lwebsockets -lpq -ljansson -lssl -lcrypto -pthread
DB_SMOKE_LDLIBS := -lpq -ljansson -pthread
DB_SMOKE_ARGS   ?=

BRIDGE_BUILD := build
BRIDGE_OBJ   := $(BRIDGE_BUILD)/obj

BRIDGE_SRCS := $(sort $(wildcard server/*.cpp))
BRIDGE_OBJS := $(patsubst server/%.cpp,$(BRIDGE_OBJ)/server/%.o,$(BRIDGE_SRCS))
DB_SMOKE_OBJS := $(BRIDGE_OBJ)/tests/bridge/db_smoke.o $(BRIDGE_OBJ)/server/db.o $(BRIDGE_OBJ)/server/log.o

.PHONY: bridge bridge-db-test

bridge: $(BRIDGE_BUILD)/collab-bridge

$(BRIDGE_OBJ)/server/%.o: server/%.cpp
	@mkdir -p $(@D)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) $(BRIDGE_CPPFLAGS) -c $< -o $@

$(BRIDGE_OBJ)/tests/bridge/%.o: tests/bridge/%.cpp
	@mkdir -p $(@D)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) $(BRIDGE_CPPFLAGS) -c $< -o $@

$(BRIDGE_BUILD)/collab-bridge: $(BRIDGE_OBJS)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) -o $@ $^ $(BRIDGE_LDLIBS)

$(BRIDGE_BUILD)/db-smoke: $(DB_SMOKE_OBJS)
	$(BRIDGE_CXX) $(BRIDGE_CXXFLAGS) -o $@ $^ $(DB_SMOKE_LDLIBS)

-include $(BRIDGE_OBJS:.o=.d) $(DB_SMOKE_OBJS:.o=.d)

bridge-db-test: $(BRIDGE_BUILD)/db-smoke
	@if [ -z "$$PGHOST" ] || [ -z "$$PGPORT" ]; then \
		echo "bridge-db-test: set PGHOST and PGPORT to a running PostgreSQL 15, for example:" \
			'eval "$$(scripts/pg-cluster.sh --name test env)"' >&2; \
		exit 2; \
	fi
	$(BRIDGE_BUILD)/db-smoke $(DB_SMOKE_ARGS)
