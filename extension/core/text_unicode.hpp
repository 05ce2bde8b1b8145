// pg_collab OT core: the text-unicode type, wire-compatible with npm ot-text-unicode 4.x. No PostgreSQL headers.
//
// An op is a list of components: a skip (positive integer), an insert (non-empty string) or a delete ({"d": N} or
// {"d": "deleted text"}). Positions and lengths count Unicode code points; text is held as UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "json.hpp"
#include "rope.hpp"
#include "types.hpp"

namespace collab::text {

struct Component {
    enum class Kind : std::uint8_t { Skip, Insert, Delete };
    Kind kind = Kind::Skip;
    std::uint64_t len = 0; // code points skipped, inserted or deleted
    std::string text;      // Insert: the text. Delete: the deleted text when has_text.
    bool has_text = false; // Delete only: {"d": "text"} rather than {"d": N}

    static Component skip(std::uint64_t n);
    static Component insert(std::string s, std::uint64_t cps);
    static Component del(std::uint64_t n);
    static Component del_text(std::string s, std::uint64_t cps);
    bool operator==(const Component &o) const = default;
};
using Op = std::vector<Component>;

// Strict parse: the npm checkOp rules (array; skips > 0 and not adjacent; inserts and deletes non-empty; no trailing
// skip) plus integer counts below 2^53 and valid UTF-8 text. Throws OtError(OpBadlyFormed / InvalidText).
Op parse_op(const json_t *json);
// Lenient parse for normalize(): allows empty components, adjacent components of one kind and a trailing skip.
Op parse_op_lenient(const json_t *json);
JsonPtr to_json(const Op &op);

// The npm functions, same results.
Op normalize(const Op &op);
Op transform(const Op &op, const Op &other, Side side);
Op compose(const Op &a, const Op &b);
std::int64_t transform_position(std::int64_t cursor, const Op &op);
Op invert(const Op &op); // throws OtError(Unsupported) when a delete carries no text

// Applies op to a UTF-8 string. Stricter than npm: a skip or delete past the end, or a text delete whose text does
// not match the document, throws OtError(OpNotApplicable) instead of being clamped.
std::string apply(std::string_view doc, const Op &op);
// The same, in place on a rope, in time proportional to the op (not the document). Atomic on error.
void apply(Rope &doc, const Op &op);

// UTF-8 helpers.
std::uint64_t count_code_points(std::string_view s) noexcept;
// Throws OtError(InvalidText) unless s is valid UTF-8 without surrogates and without NUL.
void validate_utf8(std::string_view s, const char *what);

const OtType &type();

} // namespace collab::text
