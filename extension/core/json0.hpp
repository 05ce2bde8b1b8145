// pg_collab OT core: the json0 type, wire-compatible with npm ot-json0 1.1.0. No PostgreSQL headers.
//
// An op is a list of components {p: [path...], <instruction>}: na (number add), li / ld / li+ld (list insert,
// delete, replace), lm (list move), oi / od / oi+od (object insert, delete, replace), si / sd (string insert /
// delete at a UTF-16 code unit offset, the last path element), and subtype ops {t: NAME, o: OP} for the subtypes
// text0 (built in, UTF-16 offsets as ot-json0 defines them) and text-unicode (our text-unicode type).
//
// transform / compose / invert / normalize port ot-json0's functions literally (including its bootstrapTransform
// and its tie-breaks), so results match ot-json0 for valid inputs. apply is stricter than ot-json0: it rejects with
// OtError(OpNotApplicable) what ot-json0 silently accepts or mangles (see docs/json0.md).
#pragma once

#include "json.hpp"
#include "types.hpp"

namespace collab::json0 {

// Strict shape check of an op (array of components, each with a valid path and exactly one instruction kind).
void check_op(const json_t *op);

// Applies op in place to *doc (the root may be replaced). Atomic: on error *doc is unchanged.
void apply_in_place(JsonPtr &doc, const json_t *op);

JsonPtr transform(const json_t *op, const json_t *other, Side side);
JsonPtr compose(const json_t *a, const json_t *b);
JsonPtr invert(const json_t *op);
JsonPtr normalize(const json_t *op);

// Deep equality with JavaScript number semantics (1 == 1.0) and unordered object keys.
bool js_equal(const json_t *a, const json_t *b);

// The text0 subtype (UTF-16 code unit positions).
namespace text0 {
JsonPtr apply(const json_t *snapshot, const json_t *op);
JsonPtr transform(const json_t *op, const json_t *other, Side side);
JsonPtr compose(const json_t *a, const json_t *b);
JsonPtr invert(const json_t *op);
} // namespace text0

const OtType &type();

} // namespace collab::json0
