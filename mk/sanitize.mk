# ASan + UBSan builds of the OT core, its unit tests and collab-bridge, in build/asan/ (objects in build/asan/obj/;
# nothing else in build/ is touched). Included by the top-level Makefile after mk/native.mk and mk/bridge.mk.
#
#   build/asan/libcollab_core.a       the core
#   build/asan/unit-tests             tests/unit/*.cpp (GoogleTest)
#   build/asan/bridge-unit-tests      tests/bridge/*_test.cpp with the server objects they test
#   build/asan/collab-bridge          the bridge: run the e2e suite against it with
#       COLLAB_BRIDGE_BIN=build/asan/collab-bridge E2E_DATABASE=asan tests/e2e/run.sh
#     then tests/fuzz/check-asan-logs.sh tests/e2e/logs (fails on any AddressSanitizer, UBSan or LeakSanitizer report)
#
# Targets: sanitize (core + bridge), sanitize-unit (build and run both unit test binaries under the sanitizers).
# SANITIZE_CXX picks the compiler (default g++; clang++-14 works too).

SANITIZE_CXX   ?= g++
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SANITIZE_CXXFLAGS ?= -std=c++20 -O1 -g -Wall -Wextra -Werror
SANITIZE_CPPFLAGS := -Iserver -Iextension/core -I/usr/include/postgresql -MMD -MP
# Reports go to stderr (the bridge's log); any report fails the process (UBSan: -fno-sanitize-recover).
SANITIZE_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

SAN_BUILD := build/asan
SAN_OBJ   := $(SAN_BUILD)/obj

SAN_CORE_OBJS   := $(patsubst extension/core/%.cpp,$(SAN_OBJ)/core/%.o,$(sort $(wildcard extension/core/*.cpp)))
SAN_UNIT_OBJS   := $(patsubst tests/unit/%.cpp,$(SAN_OBJ)/unit/%.o,$(sort $(wildcard tests/unit/*.cpp)))
SAN_SERVER_OBJS := $(patsubst server/%.cpp,$(SAN_OBJ)/server/%.o,$(sort $(wildcard server/*.cpp)))
SAN_BRIDGE_UNIT_OBJS := $(patsubst tests/bridge/%.cpp,$(SAN_OBJ)/tests/bridge/%.o,$(sort $(wildcard tests/bridge/*_test.cpp))) \
                        $(SAN_OBJ)/server/jwt.o $(SAN_OBJ)/server/static_files.o
SAN_ALL_OBJS := $(SAN_CORE_OBJS) $(SAN_UNIT_OBJS) $(SAN_SERVER_OBJS) $(SAN_BRIDGE_UNIT_OBJS)

.PHONY: sanitize sanitize-unit sanitize-clean

sanitize: $(SAN_BUILD)/libcollab_core.a $(SAN_BUILD)/collab-bridge

$(SAN_OBJ)/core/%.o: extension/core/%.cpp
	@mkdir -p $(@D)
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) $(SANITIZE_CPPFLAGS) -c $< -o $@

$(SAN_OBJ)/unit/%.o: tests/unit/%.cpp
	@mkdir -p $(@D)
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) $(SANITIZE_CPPFLAGS) -c $< -o $@

$(SAN_OBJ)/server/%.o: server/%.cpp
	@mkdir -p $(@D)
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) $(SANITIZE_CPPFLAGS) -c $< -o $@

$(SAN_OBJ)/tests/bridge/%.o: tests/bridge/%.cpp
	@mkdir -p $(@D)
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) $(SANITIZE_CPPFLAGS) -c $< -o $@

$(SAN_BUILD)/libcollab_core.a: $(SAN_CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

# The bridge links the core's json.cpp only (as mk/bridge.mk does).
$(SAN_BUILD)/collab-bridge: $(SAN_SERVER_OBJS) $(SAN_OBJ)/core/json.o
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) -o $@ $^ -lwebsockets -lev -lpq -ljansson -lssl -lcrypto -pthread

$(SAN_BUILD)/unit-tests: $(SAN_UNIT_OBJS) $(SAN_BUILD)/libcollab_core.a
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) -o $@ $^ -lgtest_main -lgtest -pthread -ljansson

$(SAN_BUILD)/bridge-unit-tests: $(SAN_BRIDGE_UNIT_OBJS)
	$(SANITIZE_CXX) $(SANITIZE_CXXFLAGS) $(SANITIZE_FLAGS) -o $@ $^ -lgtest_main -lgtest -pthread -ljansson -lssl -lcrypto

-include $(SAN_ALL_OBJS:.o=.d)

sanitize-unit: $(SAN_BUILD)/unit-tests $(SAN_BUILD)/bridge-unit-tests
	$(SANITIZE_ENV) $(SAN_BUILD)/unit-tests
	$(SANITIZE_ENV) $(SAN_BUILD)/bridge-unit-tests

sanitize-clean:
	rm -rf $(SAN_BUILD)
