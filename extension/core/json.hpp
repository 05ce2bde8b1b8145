// pg_collab OT core: small RAII helpers around jansson. No PostgreSQL headers.
#pragma once

#include <jansson.h>

// The postgres executable exports a json_object() of its own (the SQL function), which interposes on jansson's when
// this code runs inside the server. Use collab::json_new_object() instead; jansson's internal calls are unaffected.
#pragma GCC poison json_object

#include <memory>
#include <string>
#include <string_view>

#include "errors.hpp"

namespace collab {

struct JsonDeleter {
    void operator()(json_t *j) const noexcept { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

// A new empty JSON object (see the note on json_object above).
json_t *json_new_object();

// Takes ownership of a new reference; throws std::bad_alloc when jansson returned NULL.
JsonPtr json_own(json_t *j);
// Adds a reference to a borrowed value.
JsonPtr json_ref(json_t *j);

// Parses one JSON value of any type, as JavaScript would: an integer beyond 64 bits makes every number of the value a
// double. Returns nullptr (with err set) when the text is not valid JSON.
json_t *json_load_any(std::string_view text, json_error_t &err);

// Parses one JSON value (any type, not only objects/arrays). Rejects invalid UTF-8 and lone surrogate escapes.
// Throws OtError(error_kind, "<what>: <jansson message>") on failure.
JsonPtr json_parse(std::string_view text, ErrorKind error_kind, const char *what);

// Compact serialization, UTF-8 kept as is (no \u escapes for non-ASCII), any value type; reals as the shortest text
// that reads back as the same double.
std::string json_dump(const json_t *value);

// JSON type name for messages ("object", "array", "string", "integer", "real", "true", "false", "null"; "(missing)" for
// nullptr, a missing member).
const char *json_type_name(const json_t *value) noexcept;

} // namespace collab
