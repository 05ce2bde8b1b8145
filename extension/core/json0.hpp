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
//
// Two APIs. The typed one (parse_op, apply, transform on json0::Op and json0::Value, see json0_value.hpp) parses and
// validates an op once, applies it to a Value document in place (a path walk and an edit, no copy of the document or
// of the op) and transforms without copying values (li / ld / oi / od values are shared between an op and its
// transforms); the Snapshot of type() uses it. The jansson one (check_op, apply_in_place, transform, compose, invert,
// normalize) takes and returns json_t; its transform is the typed one plus a parse and a conversion back.
#pragma once

#include <string_view>

#include "json.hpp"
#include "json0_value.hpp"
#include "types.hpp"

namespace collab::json0 {

// ---------------------------------------------------------------------------------------------------------------
// Typed API: parse an op once, then apply it to a Value document and transform it without touching jansson.

// Parses and validates an op (the same checks and messages as check_op). The values of li / ld / oi / od are
// copied into immutable Values shared by the op and whatever transform makes of it.
Op parse_op(const json_t *op);
// The same from JSON text, without jansson for text it accepts (Value::parse_text); what it may reject goes through
// jansson, so errors are jansson's: OtError(OpBadlyFormed), or InvalidText for invalid UTF-8, NUL or lone surrogates.
Op parse_op(std::string_view json_text);
JsonPtr to_json(const Op &op);
// Applies op in place to doc (the root may be replaced). Atomic: on error doc is unchanged. The same semantics and
// errors as apply_in_place; the cost is proportional to the op (a path walk, then an edit), not to the document.
void apply(Value &doc, const Op &op);
// transform on typed ops, with ot-json0's results (as the jansson transform below).
Op transform(const Op &op, const Op &other, Side side);

// ---------------------------------------------------------------------------------------------------------------
// jansson API

// Strict shape check of an op (array of components, each with a valid path and exactly one instruction kind).
void check_op(const json_t *op);

// Applies op in place to *doc (the root may be replaced). Atomic: on error *doc is unchanged. Converts the document
// to a Value and back (cost proportional to the document): keep a Value (or a Snapshot) to apply many ops.
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
