// The fuzzing stand-in for collab::bridge::Database (tests/fuzz/fake_db.cpp): the same class (db.hpp), other
// definitions, plus fake_db_answer() to answer what was queried.
#pragma once

#include <deque>
#include <functional>

#include "db.hpp"

namespace collab::bridge {

struct FakeQuery {
    std::string sql;
    DbParams params;
    DbCallback callback;
};

// Answers every queued query with answer(query) (callbacks run at the next drain()). Returns how many.
std::size_t fake_db_answer(Database &db, const std::function<DbResult(const FakeQuery &)> &answer);

} // namespace collab::bridge
