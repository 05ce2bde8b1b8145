// libFuzzer target: the json0 type of the OT core (extension/core/json0.*, json0_value.*).
//
// Input: "<document JSON>\n<op a JSON>\n<op b JSON>" (the third line optional).
// Checks (any other exception than collab::OtError, any crash or UB report is a finding):
//   - the document: Value::parse_text agrees with jansson (Value::from_json) whenever it accepts the text;
//   - ops: the typed parse (from json_t and from text) and check_op accept and reject the same ops; to_json of a
//     parsed op parses back to the same JSON;
//   - apply: the typed apply (Value, in place), the jansson apply_in_place and the type-erased Snapshot agree (same
//     result or all fail), and a failed apply leaves the document unchanged;
//   - transform: the typed and the jansson transforms agree, both ways, both sides;
//   - TP1, where convergence is expected: apply(apply(d,a), transform(b,a,L)) == apply(apply(d,b),
//     transform(a,b,R)) for (L,R) = (left,right) and (right,left). Not checked (as ot-json0 itself does not
//     converge there, docs/json0.md and tests/diff/diff_json0.js) when an op has lm, or when the two ops edit
//     strings in different forms (si/sd against t:text0 or t:text-unicode, or the two subtypes against each other),
//     or has an oi without od (ot-json0 then makes an od of the other's oi without an oi: a root deletion), or
//     indexes an object with an integer path element (ot-json0 compares [1] and ["1"] with ===: no conflict);
//   - compose: apply(d, compose(a,b)) == apply(apply(d,a), b) when b applies after a;
//   - invert: apply(apply(d,a), invert(a)) == d, unless a has an oi without od (which may replace the root: not
//     invertible, as a text-unicode delete without its text).
// Results are compared with js_equal (1 == 1.0, key order ignored). Where an op has an na that is not a small integer
// or the document holds other numbers than small integers, sums in another order may differ in the last bit (doubles),
// and an ld / od of such a number then no longer matches: the value oracles are skipped there.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "json0.hpp"
#include "json0_value.hpp"
#include "types.hpp"

namespace json0 = collab::json0;
using collab::JsonPtr;
using collab::OtError;
using collab::Side;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
    std::fprintf(stderr, "fuzz_json0: %s\n%s\n", what, detail.c_str());
    std::abort();
}

std::string dump(const json_t *j) { return j ? collab::json_dump(j) : std::string("<none>"); }
std::string dump(const json0::Op &op) { return dump(json0::to_json(op).get()); }

// What kinds of components an op has (for the TP1 restriction).
struct Kinds {
    bool lm = false, na = false, si_sd = false, text0 = false, text_unicode = false;
    bool na_inexact = false; // an na that is not a small integer: results depend on the order of additions
    bool oi_only = false;    // an oi without od: it may replace a value (the root) that invert cannot restore
};
Kinds kinds(const json0::Op &op) {
    Kinds k;
    for (const json0::Component &c : op) {
        if (c.is(json0::Component::LM)) k.lm = true;
        if (c.is(json0::Component::NA)) {
            k.na = true;
            if (c.num.kind != json0::Scalar::Kind::Int || c.num.i > (1 << 30) || c.num.i < -(1 << 30))
                k.na_inexact = true;
        }
        if (c.is(json0::Component::OI) && !c.is(json0::Component::OD)) k.oi_only = true;
        if (c.is(json0::Component::SI | json0::Component::SD)) k.si_sd = true;
        if (c.is(json0::Component::T)) {
            if (c.t == json0::Subtype::Text0) k.text0 = true;
            if (c.t == json0::Subtype::TextUnicode) k.text_unicode = true;
        }
    }
    return k;
}

// Typed apply on a copy; nullopt when it fails (and then the copy must be unchanged: apply is atomic).
std::optional<json0::Value> apply_typed(const json0::Value &doc, const json0::Op &op) {
    json0::Value v = doc;
    try {
        json0::apply(v, op);
        return v;
    } catch (const OtError &) {
        if (!json0::js_equal(v, doc)) fail("typed apply is not atomic", doc.dump() + "\n" + dump(op));
        return std::nullopt;
    }
}

// The three applies must agree.
std::optional<json0::Value> apply_all(const json0::Value &doc, const json0::Op &op) {
    std::optional<json0::Value> typed = apply_typed(doc, op);
    JsonPtr opj = json0::to_json(op);
    JsonPtr dj = doc.to_json();
    JsonPtr before = collab::json_own(json_deep_copy(dj.get()));
    bool ok = true;
    try {
        json0::apply_in_place(dj, opj.get());
    } catch (const OtError &) {
        ok = false;
        if (!json0::js_equal(dj.get(), before.get()))
            fail("apply_in_place is not atomic", doc.dump() + "\n" + dump(op));
    }
    if (ok != typed.has_value())
        fail(ok ? "apply_in_place succeeds where the typed apply fails"
                : "the typed apply succeeds where apply_in_place fails",
             doc.dump() + "\n" + dump(op));
    if (ok && !json0::js_equal(dj.get(), typed->to_json().get()))
        fail("typed apply and apply_in_place differ",
             doc.dump() + "\n" + dump(op) + "\n" + typed->dump() + "\n" + dump(dj.get()));
    try {
        std::unique_ptr<collab::Snapshot> snap = json0::type().create(before.get());
        bool sok = true;
        try {
            snap->apply(opj.get());
        } catch (const OtError &) {
            sok = false;
            if (!json0::js_equal(snap->to_json().get(), before.get()))
                fail("Snapshot::apply is not atomic", doc.dump() + "\n" + dump(op));
        }
        if (sok != ok) fail("Snapshot::apply and apply_in_place disagree on failure", doc.dump() + "\n" + dump(op));
        if (sok && !json0::js_equal(snap->to_json().get(), dj.get()))
            fail("Snapshot::apply differs", doc.dump() + "\n" + dump(op));
    } catch (const OtError &) {
        // create() refused the document (e.g. the type's limits): nothing to compare.
    }
    return typed;
}

std::optional<json0::Op> transform_both(const json0::Op &x, const json0::Op &y, Side side) {
    std::optional<json0::Op> typed;
    try {
        typed = json0::transform(x, y, side);
    } catch (const OtError &) {
    }
    JsonPtr xj = json0::to_json(x), yj = json0::to_json(y);
    JsonPtr jj;
    try {
        jj = json0::transform(xj.get(), yj.get(), side);
    } catch (const OtError &) {
    }
    if (typed.has_value() != (jj != nullptr))
        fail("typed and jansson transform disagree on failure", dump(xj.get()) + "\n" + dump(yj.get()));
    if (typed && !json0::js_equal(json0::to_json(*typed).get(), jj.get()))
        fail("typed and jansson transform differ",
             dump(xj.get()) + "\n" + dump(yj.get()) + "\n" + dump(*typed) + "\n" + dump(jj.get()));
    return typed;
}

std::optional<json0::Op> parse_both(std::string_view line) {
    std::optional<json0::Op> from_text;
    try {
        from_text = json0::parse_op(line);
    } catch (const OtError &) {
    }
    JsonPtr j;
    try {
        j = collab::json_parse(line, collab::ErrorKind::OpBadlyFormed, "op");
    } catch (const OtError &) {
        if (from_text) fail("parse_op(text) accepts what jansson cannot parse", std::string(line));
        return std::nullopt;
    }
    std::optional<json0::Op> from_json;
    try {
        from_json = json0::parse_op(j.get());
    } catch (const OtError &) {
    }
    bool checked = true;
    try {
        json0::check_op(j.get());
    } catch (const OtError &) {
        checked = false;
    }
    if (from_text.has_value() != from_json.has_value() || checked != from_json.has_value())
        fail("parse_op(text), parse_op(json) and check_op disagree", std::string(line));
    if (!from_json) {
        try {
            (void)json0::normalize(j.get());
        } catch (const OtError &) {
        }
        return std::nullopt;
    }
    const std::string a = dump(*from_json), b = dump(*from_text);
    if (a != b) fail("parse_op(text) and parse_op(json) differ", std::string(line) + "\n" + a + "\n" + b);
    if (dump(json0::parse_op(json0::to_json(*from_json).get())) != a) fail("to_json / parse_op round trip differs", a);
    return from_json;
}

// Whether every number of v is an integer small enough that sums of small na stay exact.
bool exact_numbers(const json0::Value &v) {
    switch (v.kind()) {
    case json0::Value::Kind::Real:
        return false;
    case json0::Value::Kind::Int:
        return v.int_value() < (std::int64_t{1} << 40) && v.int_value() > -(std::int64_t{1} << 40);
    case json0::Value::Kind::Array:
        for (const json0::Value &e : v.arr())
            if (!exact_numbers(e)) return false;
        return true;
    case json0::Value::Kind::Object:
        for (const auto &m : v.obj().items())
            if (!exact_numbers(m.second)) return false;
        return true;
    default:
        return true;
    }
}

// Whether a component's path indexes an object with an integer (JavaScript reads obj[1] as obj["1"], but ot-json0's
// transform compares path elements with ===, so [1] and ["1"] never conflict there: it does not converge).
bool integer_key_on_object(const json0::Value &doc, const json0::Op &op) {
    for (const json0::Component &c : op) {
        const json0::Value *v = &doc;
        for (const json0::Scalar &e : c.p) {
            if (v == nullptr) break;
            if (v->is_object()) {
                if (e.kind != json0::Scalar::Kind::Str) return true;
                v = v->obj().find(e.s);
            } else if (v->is_array() && e.is_index() && static_cast<std::size_t>(e.i) < v->arr().size()) {
                v = &v->arr()[static_cast<std::size_t>(e.i)];
            } else {
                v = nullptr;
            }
        }
    }
    return false;
}

void check(const json0::Value &doc, const json0::Op &a, const json0::Op &b) {
    const Kinds ka = kinds(a), kb = kinds(b);
    // With na, compare results only when the arithmetic is exact (small integers everywhere): otherwise a sum in
    // another order may differ in the last bit, and an ld / od of the number then no longer matches.
    const bool na = (ka.na || kb.na) && (ka.na_inexact || kb.na_inexact || !exact_numbers(doc));
    JsonPtr aj = json0::to_json(a), bj = json0::to_json(b);
    try {
        (void)json0::normalize(aj.get());
    } catch (const OtError &) {
    }
    const std::optional<json0::Value> da = apply_all(doc, a);
    const std::optional<json0::Value> db = apply_all(doc, b);
    std::optional<json0::Op> t[2][2]; // [b over a | a over b][left | right]
    for (int s = 0; s < 2; s++) {
        const Side side = s == 0 ? Side::Left : Side::Right;
        t[0][s] = transform_both(b, a, side);
        t[1][s] = transform_both(a, b, side);
    }
    const int forms = (ka.si_sd || kb.si_sd) + (ka.text0 || kb.text0) + (ka.text_unicode || kb.text_unicode);
    const bool tp1_expected = !ka.lm && !kb.lm && !ka.oi_only && !kb.oi_only && forms <= 1 &&
                              !integer_key_on_object(doc, a) && !integer_key_on_object(doc, b);
    if (da && db && tp1_expected) {
        for (int s = 0; s < 2; s++) {
            const std::optional<json0::Op> &bt = t[0][s], &at = t[1][1 - s];
            if (!bt || !at)
                fail("transform of two applicable ops failed", doc.dump() + "\n" + dump(a) + "\n" + dump(b));
            std::optional<json0::Value> l = apply_all(*da, *bt), r = apply_all(*db, *at);
            if (!na && (!l || !r || !json0::js_equal(*l, *r)))
                fail("TP1 does not hold", "doc=" + doc.dump() + "\na=" + dump(a) + "\nb=" + dump(b) + "\nside of b'=" +
                                              (s == 0 ? "left" : "right") + "\nb'=" + dump(*bt) + "\na'=" + dump(*at) +
                                              "\n" + (l ? l->dump() : "<fail>") + "\n" + (r ? r->dump() : "<fail>"));
        }
    }
    if (da) {
        try {
            JsonPtr ab = json0::compose(aj.get(), bj.get());
            std::optional<json0::Value> seq = apply_typed(*da, b);
            if (seq) {
                std::optional<json0::Value> c = apply_all(doc, json0::parse_op(ab.get()));
                if (!na && (!c || !json0::js_equal(*c, *seq)))
                    fail("compose(a, b) does not apply like a then b",
                         "doc=" + doc.dump() + "\na=" + dump(a) + "\nb=" + dump(b) + "\nab=" + dump(ab.get()));
            }
        } catch (const OtError &) {
        }
        if (!ka.oi_only && !na) try {
                JsonPtr inv = json0::invert(aj.get());
                std::optional<json0::Value> back = apply_typed(*da, json0::parse_op(inv.get()));
                if (!back || !json0::js_equal(*back, doc))
                    fail("invert(a) does not undo a",
                         "doc=" + doc.dump() + "\na=" + dump(a) + "\ninv=" + dump(inv.get()));
            } catch (const OtError &) {
            }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    try {
        std::string_view in(reinterpret_cast<const char *>(data), size);
        std::vector<std::string_view> lines;
        while (lines.size() < 2) {
            const std::size_t nl = in.find('\n');
            if (nl == std::string_view::npos) break;
            lines.push_back(in.substr(0, nl));
            in.remove_prefix(nl + 1);
        }
        lines.push_back(in);
        JsonPtr dj;
        try {
            dj = collab::json_parse(lines[0], collab::ErrorKind::DataBadlyFormed, "document");
        } catch (const OtError &) {
            json0::Value ignored;
            (void)json0::Value::parse_text(lines[0], &ignored);
            return 0;
        }
        const json0::Value doc = json0::Value::from_json(dj.get());
        json0::Value parsed;
        if (json0::Value::parse_text(lines[0], &parsed) && !json0::js_equal(parsed, doc))
            fail("Value::parse_text and jansson differ", std::string(lines[0]));
        std::optional<json0::Op> a = lines.size() > 1 ? parse_both(lines[1]) : std::nullopt;
        std::optional<json0::Op> b = lines.size() > 2 ? parse_both(lines[2]) : std::nullopt;
        if (a) check(doc, *a, b ? *b : json0::Op{});
    } catch (const OtError &) {
    }
    return 0;
}
