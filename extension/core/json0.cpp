// pg_collab OT core: the json0 type (npm ot-json0 1.1.0). See json0.hpp. No PostgreSQL headers.
//
// transform / compose / invert / normalize are a literal port of ot-json0's lib/json0.js, lib/text0.js and
// lib/bootstrapTransform.js: components are kept as jansson objects and mutated the way the JavaScript mutates its
// objects, and comparisons follow JavaScript (=== on path elements, < and <= with number conversion).
#include "json0.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "text_unicode.hpp"

namespace collab::json0 {
namespace {

[[noreturn]] void bad_op(const std::string &msg) { throw OtError(ErrorKind::OpBadlyFormed, "json0: " + msg); }
[[noreturn]] void not_applicable(const std::string &msg) { throw OtError(ErrorKind::OpNotApplicable, "json0: " + msg); }

// A counted reference to a jansson value, copyable like a JavaScript object reference.
class Ref {
  public:
    Ref() = default;
    static Ref own(json_t *j) {
        if (j == nullptr) throw std::bad_alloc();
        Ref r;
        r.j_ = j;
        return r;
    }
    static Ref borrow(const json_t *j) {
        Ref r;
        r.j_ = json_incref(const_cast<json_t *>(j));
        return r;
    }
    Ref(const Ref &o) : j_(json_incref(o.j_)) {}
    Ref(Ref &&o) noexcept : j_(o.j_) { o.j_ = nullptr; }
    Ref &operator=(Ref o) noexcept {
        std::swap(j_, o.j_);
        return *this;
    }
    ~Ref() { json_decref(j_); }
    json_t *get() const noexcept { return j_; }
    explicit operator bool() const noexcept { return j_ != nullptr; }

  private:
    json_t *j_ = nullptr;
};
using Vec = std::vector<Ref>;

Ref clone(const json_t *j) { return Ref::own(json_deep_copy(j)); }
json_t *get(const json_t *c, const char *k) { return json_object_get(c, k); }
bool has(const json_t *c, const char *k) { return get(c, k) != nullptr; }
// JavaScript `c.k != null`.
bool nn(const json_t *c, const char *k) {
    const json_t *v = get(c, k);
    return v != nullptr && !json_is_null(v);
}
bool truthy(const json_t *v) {
    if (v == nullptr || json_is_null(v) || json_is_false(v)) return false;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_real(v)) return json_real_value(v) != 0 && !std::isnan(json_real_value(v));
    return true;
}
void set(json_t *c, const char *k, json_t *v) { json_object_set(c, k, v); }
void set_new(json_t *c, const char *k, json_t *v) {
    if (v == nullptr) throw std::bad_alloc();
    json_object_set_new(c, k, v);
}
void del(json_t *c, const char *k) { json_object_del(c, k); }

json_t *P(const json_t *c) { return get(c, "p"); }
long plen(const json_t *c) { return static_cast<long>(json_array_size(P(c))); }
json_t *pat(const json_t *c, long i) {
    if (i < 0 || i >= plen(c)) return nullptr;
    return json_array_get(P(c), static_cast<size_t>(i));
}

// JavaScript Number(s) of a string.
double str_num(const char *data, size_t len) {
    std::string s(data, len);
    size_t b = s.find_first_not_of(" \t\n\r"), e = s.find_last_not_of(" \t\n\r");
    if (b == std::string::npos) return 0;
    s = s.substr(b, e - b + 1);
    char *end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return NAN;
    return d;
}
// JavaScript Number(v) for the values that occur in paths; nullptr is undefined (NaN).
double js_num(const json_t *v) {
    if (v == nullptr) return NAN;
    if (json_is_integer(v)) return static_cast<double>(json_integer_value(v));
    if (json_is_real(v)) return json_real_value(v);
    if (json_is_true(v)) return 1;
    if (json_is_false(v) || json_is_null(v)) return 0;
    if (json_is_string(v)) return str_num(json_string_value(v), json_string_length(v));
    return NAN;
}
// JavaScript === on primitives; containers are equal only when they are the same object.
bool js_seq(const json_t *a, const json_t *b) {
    if (a == nullptr || b == nullptr) return a == b;
    if (json_is_number(a) && json_is_number(b)) return js_num(a) == js_num(b);
    if (json_is_string(a) && json_is_string(b))
        return json_string_length(a) == json_string_length(b) &&
               std::memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    if (json_is_null(a) || json_is_boolean(a)) return json_typeof(a) == json_typeof(b);
    return a == b;
}
json_t *js_number(double d) {
    if (std::isnan(d) || std::isinf(d)) return json_null(); // as JSON.stringify writes them
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) return json_integer(static_cast<json_int_t>(d));
    return json_real(d);
}
json_t *js_add(const json_t *a, const json_t *b) {
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b), r;
        if (!__builtin_add_overflow(x, y, &r) && r <= 9007199254740992LL && r >= -9007199254740992LL)
            return json_integer(r);
    }
    return js_number(js_num(a) + js_num(b));
}
// ---------------------------------------------------------------------------------------------------------------
// UTF-16 helpers for text0

std::u16string to16(const char *s, size_t n) {
    std::u16string out;
    out.reserve(n);
    for (size_t i = 0; i < n;) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        char32_t cp;
        int len;
        if (c < 0x80)
            cp = c, len = 1;
        else if ((c >> 5) == 6)
            cp = c & 0x1f, len = 2;
        else if ((c >> 4) == 14)
            cp = c & 0x0f, len = 3;
        else
            cp = c & 0x07, len = 4;
        for (int k = 1; k < len && i + k < n; k++)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        i += static_cast<size_t>(len);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
            out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
        } else {
            out.push_back(static_cast<char16_t>(cp));
        }
    }
    return out;
}
std::u16string to16(const json_t *s) { return to16(json_string_value(s), json_string_length(s)); }
std::string to8(const std::u16string &s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        char32_t cp = s[i];
        if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < s.size() && s[i + 1] >= 0xdc00 && s[i + 1] < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (s[i + 1] - 0xdc00);
            i++;
        } else if (cp >= 0xd800 && cp < 0xe000) {
            throw OtError(ErrorKind::InvalidText, "json0: text0 op would split a surrogate pair");
        }
        if (cp < 0x80)
            out.push_back(static_cast<char>(cp));
        else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    return out;
}
json_t *str16(const std::u16string &s) {
    std::string u = to8(s);
    return json_stringn(u.data(), u.size());
}

// bootstrapTransform's transformX, generic over the component representation.
template <class V, class TC, class AP>
std::pair<V, V> transform_x(V left, const V &right, const TC &tc, const AP &append) {
    using C = typename V::value_type;
    V new_right;
    for (size_t i = 0; i < right.size(); i++) {
        std::optional<C> rc = right[i];
        V new_left;
        size_t k = 0;
        while (k < left.size()) {
            V next;
            tc(new_left, left[k], *rc, Side::Left);
            tc(next, *rc, left[k], Side::Right);
            k++;
            if (next.size() == 1) {
                rc = next[0];
            } else if (next.empty()) {
                for (size_t j = k; j < left.size(); j++)
                    append(new_left, C(left[j]));
                rc.reset();
                break;
            } else {
                auto pair = transform_x(V(&*left.begin() + k, &*left.begin() + left.size()), next, tc, append);
                for (C &l : pair.first)
                    append(new_left, std::move(l));
                for (C &r : pair.second)
                    append(new_right, std::move(r));
                rc.reset();
                break;
            }
        }
        if (rc) append(new_right, std::move(*rc));
        left = std::move(new_left);
    }
    return {std::move(left), std::move(new_right)};
}

template <class V, class TC, class AP>
V bootstrap_transform(const V &op, const V &other, Side side, const TC &tc, const AP &append) {
    if (other.empty()) return op;
    if (op.size() == 1 && other.size() == 1) {
        V dest;
        tc(dest, op[0], other[0], side);
        return dest;
    }
    if (side == Side::Left) return transform_x(op, other, tc, append).first;
    return transform_x(other, op, tc, append).second;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// text0

namespace text0 {
namespace {

struct TC {
    std::int64_t p = 0;
    bool ins = false;
    std::u16string s;
};
using TOp = std::vector<TC>;

TOp parse(const json_t *op) {
    if (!json_is_array(op)) bad_op("a text0 op must be an array");
    TOp out;
    size_t i;
    json_t *c;
    json_array_foreach(op, i, c) {
        if (!json_is_object(c)) bad_op("a text0 component must be an object");
        json_t *p = get(c, "p"), *ins = get(c, "i"), *d = get(c, "d");
        if (!json_is_integer(p)) bad_op("text0 component missing position field");
        if ((ins && json_is_string(ins)) == (d && json_is_string(d))) bad_op("text0 component needs an i or d field");
        if (json_integer_value(p) < 0) bad_op("text0 position cannot be negative");
        TC t;
        t.p = json_integer_value(p);
        t.ins = ins && json_is_string(ins);
        t.s = to16(t.ins ? ins : d);
        out.push_back(std::move(t));
    }
    return out;
}
JsonPtr to_json(const TOp &op) {
    JsonPtr arr = json_own(json_array());
    for (const TC &c : op) {
        json_t *str = str16(c.s);
        json_t *o = json_new_object();
        json_object_set_new(o, c.ins ? "i" : "d", str);
        json_object_set_new(o, "p", json_integer(c.p));
        json_array_append_new(arr.get(), o);
    }
    return arr;
}
std::int64_t len(const TC &c) { return static_cast<std::int64_t>(c.s.size()); }
std::u16string inject(const std::u16string &s1, std::int64_t pos, const std::u16string &s2) {
    size_t p = static_cast<size_t>(std::clamp<std::int64_t>(pos, 0, static_cast<std::int64_t>(s1.size())));
    return s1.substr(0, p) + s2 + s1.substr(p);
}
// JavaScript String.prototype.slice(b, e) for non-negative b.
std::u16string slice(const std::u16string &s, std::int64_t b, std::int64_t e = INT64_MAX) {
    std::int64_t n = static_cast<std::int64_t>(s.size());
    if (e < 0) e = std::max<std::int64_t>(0, n + e);
    b = std::clamp<std::int64_t>(b, 0, n);
    e = std::clamp<std::int64_t>(e, 0, n);
    if (e <= b) return {};
    return s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b));
}

void append(TOp &dest, const TC &c) {
    if (c.s.empty()) return;
    if (dest.empty()) {
        dest.push_back(c);
        return;
    }
    TC &last = dest.back();
    if (last.ins && c.ins && last.p <= c.p && c.p <= last.p + len(last)) {
        last = TC{last.p, true, inject(last.s, c.p - last.p, c.s)};
    } else if (!last.ins && !c.ins && c.p <= last.p && last.p <= c.p + len(c)) {
        last = TC{c.p, false, inject(c.s, last.p - c.p, last.s)};
    } else {
        dest.push_back(c);
    }
}

std::int64_t transform_pos(std::int64_t pos, const TC &c, bool insert_after) {
    if (c.ins) return (c.p < pos || (c.p == pos && insert_after)) ? pos + len(c) : pos;
    if (pos <= c.p) return pos;
    if (pos <= c.p + len(c)) return c.p;
    return pos - len(c);
}

void transform_component(TOp &dest, const TC &c, const TC &o, Side side) {
    if (c.ins) {
        append(dest, TC{transform_pos(c.p, o, side == Side::Right), true, c.s});
    } else if (o.ins) {
        std::u16string s = c.s;
        if (c.p < o.p) {
            append(dest, TC{c.p, false, slice(s, 0, o.p - c.p)});
            s = slice(s, o.p - c.p);
        }
        if (!s.empty()) append(dest, TC{c.p + len(o), false, s});
    } else {
        if (c.p >= o.p + len(o)) {
            append(dest, TC{c.p - len(o), false, c.s});
        } else if (c.p + len(c) <= o.p) {
            append(dest, c);
        } else {
            TC n{c.p, false, {}};
            if (c.p < o.p) n.s = slice(c.s, 0, o.p - c.p);
            if (c.p + len(c) > o.p + len(o)) n.s += slice(c.s, o.p + len(o) - c.p);
            std::int64_t is = std::max(c.p, o.p), ie = std::min(c.p + len(c), o.p + len(o));
            if (slice(c.s, is - c.p, ie - c.p) != slice(o.s, is - o.p, ie - o.p))
                not_applicable("text0: delete ops delete different text in the same region of the document");
            if (!n.s.empty()) {
                n.p = transform_pos(n.p, o, false);
                append(dest, n);
            }
        }
    }
}

} // namespace

JsonPtr apply(const json_t *snapshot, const json_t *op) {
    TOp o = parse(op);
    if (!json_is_string(snapshot))
        not_applicable(std::string("text0 op applied to a ") + json_type_name(snapshot) + ", not a string");
    std::u16string s = to16(snapshot);
    for (const TC &c : o) {
        if (c.p > static_cast<std::int64_t>(s.size())) not_applicable("text0 position past the end of the string");
        if (c.ins) {
            s = inject(s, c.p, c.s);
        } else {
            if (slice(s, c.p, c.p + len(c)) != c.s)
                not_applicable("text0 delete component does not match the deleted text");
            s.erase(static_cast<size_t>(c.p), c.s.size());
        }
    }
    return json_own(str16(s));
}

JsonPtr transform(const json_t *op, const json_t *other, Side side) {
    return to_json(bootstrap_transform(parse(op), parse(other), side, transform_component, append));
}

JsonPtr compose(const json_t *a, const json_t *b) {
    TOp out = parse(a);
    for (const TC &c : parse(b))
        append(out, c);
    return to_json(out);
}

JsonPtr invert(const json_t *op) {
    TOp o = parse(op);
    TOp out;
    for (auto it = o.rbegin(); it != o.rend(); ++it)
        out.push_back(TC{it->p, !it->ins, it->s});
    return to_json(out);
}

} // namespace text0

// ---------------------------------------------------------------------------------------------------------------
// Subtypes

namespace {

struct JSubtype {
    const char *name;
    JsonPtr (*apply)(const json_t *, const json_t *);
    JsonPtr (*transform)(const json_t *, const json_t *, Side);
    JsonPtr (*compose)(const json_t *, const json_t *);
    JsonPtr (*invert)(const json_t *);
    void (*check)(const json_t *);
};

const JSubtype kSubtypes[] = {
    {"text0", text0::apply, text0::transform, text0::compose, text0::invert,
     [](const json_t *o) { (void)text0::invert(o); }},
    {"text-unicode",
     [](const json_t *s, const json_t *o) {
         if (!json_is_string(s))
             not_applicable(std::string("text-unicode op applied to a ") + json_type_name(s) + ", not a string");
         return text::type().apply(s, o);
     },
     [](const json_t *a, const json_t *b, Side side) { return text::type().transform(a, b, side); },
     [](const json_t *a, const json_t *b) { return text::type().compose(a, b); },
     [](const json_t *a) { return text::type().invert(a); }, [](const json_t *o) { text::type().check_op(o); }},
};

const JSubtype *find_subtype(const json_t *t) {
    if (t == nullptr || !json_is_string(t)) return nullptr;
    for (const JSubtype &s : kSubtypes)
        if (std::strcmp(s.name, json_string_value(t)) == 0) return &s;
    return nullptr;
}

bool is_text_op(const json_t *c) { return nn(c, "si") || nn(c, "sd"); }

void convert_from_text(json_t *c) {
    set_new(c, "t", json_string("text0"));
    json_t *o = json_new_object();
    json_t *p = P(c);
    size_t n = json_array_size(p);
    if (n > 0) {
        json_object_set(o, "p", json_array_get(p, n - 1));
        json_array_remove(p, n - 1);
    }
    if (nn(c, "si")) json_object_set(o, "i", get(c, "si"));
    if (nn(c, "sd")) json_object_set(o, "d", get(c, "sd"));
    json_t *arr = json_array();
    json_array_append_new(arr, o);
    set_new(c, "o", arr);
}

void convert_to_text(json_t *c) {
    json_t *o0 = json_array_get(get(c, "o"), 0);
    if (o0 == nullptr) bad_op("text0 op became empty");
    json_t *p0 = get(o0, "p");
    json_array_append(P(c), p0 ? p0 : json_null());
    if (nn(o0, "i")) set(c, "si", get(o0, "i"));
    if (nn(o0, "d")) set(c, "sd", get(o0, "d"));
    del(c, "t");
    del(c, "o");
}

bool path_matches(const json_t *p1, const json_t *p2) {
    if (json_array_size(p1) != json_array_size(p2)) return false;
    for (size_t i = 0; i < json_array_size(p1); i++)
        if (!js_seq(json_array_get(p1, i), json_array_get(p2, i))) return false;
    return true;
}

// JavaScript ===, where two containers are never equal (they are distinct objects after cloning).
bool js_strict_value(const json_t *a, const json_t *b) {
    if (a == nullptr || b == nullptr) return a == b;
    if (json_is_object(a) || json_is_array(a) || json_is_object(b) || json_is_array(b)) return false;
    return js_seq(a, b);
}

void append(Vec &dest, const Ref &c_in) {
    Ref c = clone(c_in.get());
    if (dest.empty()) {
        dest.push_back(c);
        return;
    }
    json_t *cc = c.get();
    json_t *last = dest.back().get();
    if (is_text_op(cc) && is_text_op(last)) {
        convert_from_text(cc);
        convert_from_text(last);
    }
    if (path_matches(P(cc), P(last))) {
        const JSubtype *st = find_subtype(get(cc, "t"));
        if (truthy(get(cc, "t")) && truthy(get(last, "t")) && js_seq(get(cc, "t"), get(last, "t")) && st) {
            set_new(last, "o", st->compose(get(last, "o"), get(cc, "o")).release());
            if (is_text_op(cc)) {
                Ref p = Ref::borrow(P(cc));
                json_t *lo = get(last, "o");
                for (size_t i = 0; i + 1 < json_array_size(lo); i++) {
                    json_t *arr = json_array();
                    json_array_append(arr, json_array_get(lo, json_array_size(lo) - 1));
                    json_array_remove(lo, json_array_size(lo) - 1);
                    set_new(cc, "o", arr);
                    set_new(cc, "p", json_copy(p.get()));
                    convert_to_text(cc);
                    dest.push_back(c); // the same object each time, as in ot-json0
                }
                convert_to_text(last);
            }
        } else if (nn(last, "na") && nn(cc, "na")) {
            json_t *n = json_new_object();
            json_object_set(n, "p", P(last));
            json_object_set_new(n, "na", js_add(get(last, "na"), get(cc, "na")));
            dest.back() = Ref::own(n);
        } else if (has(last, "li") && !has(cc, "li") && js_strict_value(get(cc, "ld"), get(last, "li"))) {
            if (has(last, "ld"))
                del(last, "li");
            else
                dest.pop_back();
        } else if (has(last, "od") && !has(last, "oi") && has(cc, "oi") && !has(cc, "od")) {
            set(last, "oi", get(cc, "oi"));
        } else if (has(last, "oi") && has(cc, "od")) {
            if (has(cc, "oi"))
                set(last, "oi", get(cc, "oi"));
            else if (has(last, "od"))
                del(last, "oi");
            else
                dest.pop_back();
        } else if (has(cc, "lm") && js_seq(pat(cc, plen(cc) - 1), get(cc, "lm"))) {
            // a move to where it is: nothing
        } else {
            dest.push_back(c);
        }
    } else {
        if (is_text_op(cc) && is_text_op(last)) {
            convert_to_text(cc);
            convert_to_text(last);
        }
        dest.push_back(c);
    }
}

Vec to_vec(const json_t *op) {
    Vec v;
    size_t i;
    json_t *c;
    json_array_foreach(op, i, c) v.push_back(Ref::borrow(c));
    return v;
}
JsonPtr from_vec(const Vec &v) {
    JsonPtr arr = json_own(json_array());
    for (const Ref &r : v)
        json_array_append(arr.get(), r.get());
    // Components may be shared (ot-json0 aliasing); return an independent tree.
    return json_own(json_deep_copy(arr.get()));
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Validation

namespace {

void check_component(const json_t *c) {
    if (!json_is_object(c)) bad_op("a component must be an object");
    json_t *p = P(c);
    if (!json_is_array(p)) bad_op("Missing path");
    size_t i;
    json_t *e;
    json_array_foreach(p, i, e) {
        if (json_is_integer(e) && json_integer_value(e) >= 0) continue;
        if (json_is_string(e)) continue;
        bad_op("path elements must be non-negative integers or strings");
    }
    const bool t = has(c, "t") || has(c, "o"), na = has(c, "na"), li = has(c, "li"), ld = has(c, "ld"),
               lm = has(c, "lm"), oi = has(c, "oi"), od = has(c, "od"), si = has(c, "si"), sd = has(c, "sd");
    const int kinds = t + na + (li || ld) + lm + (oi || od) + si + sd;
    if (kinds != 1) bad_op("a component needs exactly one of na, li/ld, lm, oi/od, si, sd or t/o");
    if (t) {
        if (!find_subtype(get(c, "t")))
            bad_op(json_is_string(get(c, "t")) ? std::string("unknown subtype '") + json_string_value(get(c, "t")) + "'"
                                               : std::string("t must name a subtype"));
        if (!has(c, "o")) bad_op("a subtype component needs o");
        find_subtype(get(c, "t"))->check(get(c, "o"));
    }
    if (na && !json_is_number(get(c, "na"))) bad_op("na must be a number");
    if (lm && !(json_is_integer(get(c, "lm")) && json_integer_value(get(c, "lm")) >= 0))
        bad_op("lm must be a non-negative integer");
    if (si || sd) {
        if (!json_is_string(get(c, si ? "si" : "sd"))) bad_op("si / sd must be a string");
    }
}

} // namespace

void check_op(const json_t *op) {
    if (!json_is_array(op)) bad_op(std::string("an op must be an array, not ") + json_type_name(op));
    size_t i;
    json_t *c;
    json_array_foreach(op, i, c) check_component(c);
}

// ---------------------------------------------------------------------------------------------------------------
// Apply

bool js_equal(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return js_num(a) == js_num(b);
    if (json_typeof(a) != json_typeof(b)) return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!js_equal(json_array_get(a, i), json_array_get(b, i))) return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) return false;
        const char *k;
        json_t *v;
        json_object_foreach(const_cast<json_t *>(a), k, v) {
            json_t *w = json_object_get(b, k);
            if (w == nullptr || !js_equal(v, w)) return false;
        }
        return true;
    }
    return json_equal(a, b);
}

// ---------------------------------------------------------------------------------------------------------------
// Typed ops: parsing, validation, conversion back to JSON

namespace {

using K = Scalar::Kind;
using F = Component::Field;

constexpr std::uint16_t kText = F::SI | F::SD;

const Scalar &undefined_scalar() {
    static const Scalar u{};
    return u;
}

// JavaScript Number(v).
double sc_num(const Scalar &v) {
    switch (v.kind) {
    case K::Undefined:
        return NAN;
    case K::Null:
        return 0;
    case K::Int:
        return static_cast<double>(v.i);
    case K::Real:
        return v.d;
    case K::Str:
        return str_num(v.s.data(), v.s.size());
    }
    return NAN;
}
bool sc_is_num(const Scalar &v) { return v.kind == K::Int || v.kind == K::Real; }
// JavaScript === (as js_seq on the jansson form).
bool sc_seq(const Scalar &a, const Scalar &b) {
    if (a.kind == K::Int && b.kind == K::Int) return static_cast<double>(a.i) == static_cast<double>(b.i);
    if (a.kind == K::Undefined || b.kind == K::Undefined) return a.kind == b.kind;
    if (sc_is_num(a) && sc_is_num(b)) return sc_num(a) == sc_num(b);
    if (a.kind == K::Str && b.kind == K::Str) return str_equal(a.s, b.s);
    if (a.kind == K::Null) return b.kind == K::Null;
    return false;
}
// JavaScript ==.
bool sc_leq(const Scalar &a, const Scalar &b) {
    if (a.kind == K::Undefined || b.kind == K::Undefined) return a.kind == b.kind;
    if ((sc_is_num(a) && b.kind == K::Str) || (a.kind == K::Str && sc_is_num(b))) return sc_num(a) == sc_num(b);
    return sc_seq(a, b);
}
bool sc_lt(const Scalar &a, const Scalar &b) {
    if (a.kind == K::Str && b.kind == K::Str) return a.s.compare(b.s) < 0;
    return sc_num(a) < sc_num(b);
}
bool sc_le(const Scalar &a, const Scalar &b) {
    if (a.kind == K::Str && b.kind == K::Str) return a.s.compare(b.s) <= 0;
    return sc_num(a) <= sc_num(b);
}
Scalar sc_number(double d) {
    if (std::isnan(d) || std::isinf(d)) return Scalar::null();
    if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) return Scalar::integer(static_cast<std::int64_t>(d));
    return Scalar::real(d);
}
Scalar sc_add(const Scalar &a, const Scalar &b) {
    if (a.kind == K::Int && b.kind == K::Int) {
        std::int64_t r;
        if (!__builtin_add_overflow(a.i, b.i, &r) && r <= 9007199254740992LL && r >= -9007199254740992LL)
            return Scalar::integer(r);
    }
    return sc_number(sc_num(a) + sc_num(b));
}
Scalar sc_from_json(const json_t *j) {
    if (json_is_integer(j)) return Scalar::integer(json_integer_value(j));
    if (json_is_real(j)) return Scalar::real(json_real_value(j));
    if (json_is_string(j)) return Scalar::str(std::string(json_string_value(j), json_string_length(j)));
    return Scalar::null();
}
json_t *sc_to_json(const Scalar &v) {
    switch (v.kind) {
    case K::Int:
        return json_integer(v.i);
    case K::Real:
        return json_real(v.d);
    case K::Str:
        return json_stringn_nocheck(v.s.data(), v.s.size());
    default:
        return json_null();
    }
}
std::string dump_path(const Path &p, std::size_t n) {
    JsonPtr a = json_own(json_array());
    for (std::size_t i = 0; i < n; i++)
        json_array_append_new(a.get(), sc_to_json(p[i]));
    return json_dump(a.get());
}

// x + na for apply (as js_add).
Value value_add(const Value &x, const Scalar &na) {
    if (x.kind() == Value::Kind::Int && na.kind == K::Int) {
        std::int64_t r;
        if (!__builtin_add_overflow(x.int_value(), na.i, &r) && r <= 9007199254740992LL && r >= -9007199254740992LL)
            return Value::integer(r);
    }
    const Scalar s = sc_number(x.number() + sc_num(na));
    if (s.kind == K::Int) return Value::integer(s.i);
    if (s.kind == K::Real) return Value::real(s.d);
    return Value();
}

// text0 on typed components ----------------------------------------------------------------------------------------

void check_no_lone_surrogates(const std::u16string &s) {
    for (std::size_t i = 0; i < s.size(); i++) {
        const char16_t c = s[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.size() && s[i + 1] >= 0xdc00 && s[i + 1] < 0xe000) {
            i++;
        } else if (c >= 0xd800 && c < 0xe000) {
            throw OtError(ErrorKind::InvalidText, "json0: text0 op would split a surrogate pair");
        }
    }
}

text0::TOp to_tc(const std::vector<TextComponent> &o) {
    text0::TOp out;
    out.reserve(o.size());
    for (const TextComponent &c : o) {
        if (c.p.kind != K::Int) bad_op("text0 component missing position field");
        if (c.p.i < 0) bad_op("text0 position cannot be negative");
        out.push_back(text0::TC{c.p.i, c.ins, c.s});
    }
    return out;
}
// As text0's to_json: fails on text that would not survive the conversion to UTF-8.
std::vector<TextComponent> from_tc(text0::TOp o) {
    std::vector<TextComponent> out;
    out.reserve(o.size());
    for (text0::TC &c : o) {
        check_no_lone_surrogates(c.s);
        out.push_back(TextComponent{Scalar::integer(c.p), c.ins, std::move(c.s)});
    }
    return out;
}

std::vector<TextComponent> text0_parse(const json_t *o) {
    std::vector<TextComponent> out;
    for (text0::TC &c : text0::parse(o))
        out.push_back(TextComponent{Scalar::integer(c.p), c.ins, std::move(c.s)});
    return out;
}

json_t *text0_to_json(const std::vector<TextComponent> &o) {
    JsonPtr arr = json_own(json_array());
    for (const TextComponent &c : o) {
        JsonPtr obj = json_own(json_new_object());
        if (c.p.kind != K::Undefined) json_object_set_new(obj.get(), "p", sc_to_json(c.p));
        json_object_set_new(obj.get(), c.ins ? "i" : "d", str16(c.s));
        json_array_append_new(arr.get(), obj.release());
    }
    return arr.release();
}

// Components ------------------------------------------------------------------------------------------------------

long c_plen(const Component &c) { return static_cast<long>(c.p.size()); }
const Scalar &c_pat(const Component &c, long i) {
    if (i < 0 || i >= c_plen(c)) return undefined_scalar();
    return c.p[static_cast<std::size_t>(i)];
}
bool nn_na(const Component &c) { return c.is(F::NA) && c.num.kind != K::Null && c.num.kind != K::Undefined; }
bool is_text(const Component &c) { return c.is(kText); }
void c_bump_p(Component &c, long i, int delta) {
    if (i < 0) return;
    while (c_plen(c) <= i)
        c.p.push_back(Scalar::null());
    Scalar &e = c.p[static_cast<std::size_t>(i)];
    e = sc_number(sc_num(e) + delta);
}
void c_set_p(Component &c, long i, const Scalar &v) {
    if (i < 0) return;
    while (c_plen(c) <= i)
        c.p.push_back(Scalar::null());
    if (v.kind != K::Undefined) c.p[static_cast<std::size_t>(i)] = v;
}
void c_bump_lm(Component &c, int delta) { c.num = sc_number(sc_num(c.num) + delta); }

void c_convert_from_text(Component &c) {
    c.t = Subtype::Text0;
    c.has |= F::T;
    TextComponent o;
    if (!c.p.empty()) {
        o.p = std::move(c.p.back());
        c.p.pop_back();
    }
    if (c.is(F::SI)) {
        o.ins = true;
        o.s = to16(c.str.data(), c.str.size());
    } else {
        o.s = to16(c.str.data(), c.str.size());
    }
    c.text0.clear();
    c.text0.push_back(std::move(o));
}

void c_convert_to_text(Component &c) {
    if (c.text0.empty()) bad_op("text0 op became empty");
    TextComponent &o0 = c.text0[0];
    c.p.push_back(o0.p.kind == K::Undefined ? Scalar::null() : o0.p);
    if (o0.ins) {
        c.str = to8(o0.s);
        c.has |= F::SI;
    } else {
        c.str = to8(o0.s);
        c.has |= F::SD;
    }
    c.t = Subtype::None;
    c.has &= static_cast<std::uint16_t>(~F::T);
    c.text0.clear();
}

bool c_path_matches(const Path &a, const Path &b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); i++)
        if (!sc_seq(a[i], b[i])) return false;
    return true;
}

// JavaScript === on op values: two containers are never the same object.
bool strict_value(const Value *a, const Value *b) {
    if (a == nullptr || b == nullptr) return a == b;
    if (a->is_container() || b->is_container()) return false;
    if (a->is_number() && b->is_number()) return a->number() == b->number();
    if (a->is_string() && b->is_string()) return a->str() == b->str();
    return a->kind() == b->kind() && !a->is_number() && !a->is_string();
}

// The check_component rules on a typed component (transform applies components it made itself).
void validate(const Component &c) {
    for (const Scalar &e : c.p)
        if (!e.is_index() && e.kind != K::Str) bad_op("path elements must be non-negative integers or strings");
    const int kinds = (c.t != Subtype::None) + c.is(F::NA) + c.is(F::LI | F::LD) + c.is(F::LM) + c.is(F::OI | F::OD) +
                      c.is(F::SI) + c.is(F::SD);
    if (kinds != 1) bad_op("a component needs exactly one of na, li/ld, lm, oi/od, si, sd or t/o");
    if (c.t == Subtype::Text0) (void)from_tc(to_tc(c.text0));
    if (c.t == Subtype::TextUnicode) (void)text::parse_op(text::to_json(c.text_unicode).get());
    if (c.is(F::NA) && !sc_is_num(c.num)) bad_op("na must be a number");
    if (c.is(F::LM) && !c.num.is_index()) bad_op("lm must be a non-negative integer");
}

// A component's fields, found by key name in one pass over its keys (T: json_t or Value). Other keys are ignored, as
// in ot-json0.
template <typename T> struct ComponentFields {
    T *p = nullptr, *t = nullptr, *o = nullptr, *na = nullptr, *li = nullptr, *ld = nullptr, *lm = nullptr,
      *oi = nullptr, *od = nullptr, *si = nullptr, *sd = nullptr;
    void set(std::string_view key, T *v) {
        if (key.size() == 1) {
            T **slot = key[0] == 'p' ? &p : key[0] == 't' ? &t : key[0] == 'o' ? &o : nullptr;
            if (slot) *slot = v;
            return;
        }
        if (key.size() != 2) return;
        static constexpr std::pair<std::string_view, T * ComponentFields::*> kNames[] = {
            {"na", &ComponentFields::na}, {"li", &ComponentFields::li}, {"ld", &ComponentFields::ld},
            {"lm", &ComponentFields::lm}, {"oi", &ComponentFields::oi}, {"od", &ComponentFields::od},
            {"si", &ComponentFields::si}, {"sd", &ComponentFields::sd}};
        for (const auto &[name, member] : kNames)
            if (key == name) {
                this->*member = v;
                return;
            }
    }
};

Component parse_component(const json_t *c) {
    if (!json_is_object(c)) bad_op("a component must be an object");
    Component out;
    ComponentFields<const json_t> f;
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(const_cast<json_t *>(c), key, klen, v) f.set(std::string_view(key, klen), v);
    const json_t *p = f.p, *t = f.t, *o = f.o, *na = f.na, *li = f.li, *ld = f.ld, *lm = f.lm, *oi = f.oi, *od = f.od,
                 *si = f.si, *sd = f.sd;
    // The checks of check_component, in its order.
    if (!json_is_array(p)) bad_op("Missing path");
    out.p.reserve(json_array_size(p));
    for (size_t i = 0; i < json_array_size(p); i++) {
        const json_t *e = json_array_get(p, i);
        if (json_is_integer(e) && json_integer_value(e) >= 0)
            out.p.push_back(Scalar::integer(json_integer_value(e)));
        else if (json_is_string(e))
            out.p.push_back(Scalar::str(std::string(json_string_value(e), json_string_length(e))));
        else
            bad_op("path elements must be non-negative integers or strings");
    }
    const bool has_t = t || o;
    const int kinds =
        has_t + (na != nullptr) + (li || ld) + (lm != nullptr) + (oi || od) + (si != nullptr) + (sd != nullptr);
    if (kinds != 1) bad_op("a component needs exactly one of na, li/ld, lm, oi/od, si, sd or t/o");
    if (has_t) {
        const Subtype st = !json_is_string(t)                                       ? Subtype::None
                           : std::strcmp(json_string_value(t), "text0") == 0        ? Subtype::Text0
                           : std::strcmp(json_string_value(t), "text-unicode") == 0 ? Subtype::TextUnicode
                                                                                    : Subtype::None;
        if (st == Subtype::None)
            bad_op(json_is_string(t) ? std::string("unknown subtype '") + json_string_value(t) + "'"
                                     : std::string("t must name a subtype"));
        if (!o) bad_op("a subtype component needs o");
        out.t = st;
        out.has |= F::T;
        if (st == Subtype::Text0)
            out.text0 = text0_parse(o);
        else
            out.text_unicode = text::parse_op(o);
    }
    if (na) {
        if (!json_is_number(na)) bad_op("na must be a number");
        out.has |= F::NA;
        out.num = sc_from_json(na);
    }
    if (lm) {
        if (!(json_is_integer(lm) && json_integer_value(lm) >= 0)) bad_op("lm must be a non-negative integer");
        out.has |= F::LM;
        out.num = Scalar::integer(json_integer_value(lm));
    }
    if (si || sd) {
        const json_t *s = si ? si : sd;
        if (!json_is_string(s)) bad_op("si / sd must be a string");
        out.str = std::string(json_string_value(s), json_string_length(s));
        out.has |= si ? F::SI : F::SD;
    }
    auto value = [](const json_t *j) { return std::make_shared<const Value>(Value::from_json(j)); };
    if (li) out.ins = value(li), out.has |= F::LI;
    if (ld) out.del = value(ld), out.has |= F::LD;
    if (oi) out.ins = value(oi), out.has |= F::OI;
    if (od) out.del = value(od), out.has |= F::OD;
    return out;
}

json_t *component_to_json(const Component &c) {
    JsonPtr o = json_own(json_new_object());
    json_t *j = o.get();
    json_t *p = json_array();
    for (const Scalar &e : c.p)
        json_array_append_new(p, sc_to_json(e));
    json_object_set_new(j, "p", p);
    if (c.t != Subtype::None) {
        json_object_set_new(j, "t", json_string(c.t == Subtype::Text0 ? "text0" : "text-unicode"));
        json_object_set_new(j, "o",
                            c.t == Subtype::Text0 ? text0_to_json(c.text0) : text::to_json(c.text_unicode).release());
    }
    if (c.is(F::NA)) json_object_set_new(j, "na", sc_to_json(c.num));
    if (c.is(F::LM)) json_object_set_new(j, "lm", sc_to_json(c.num));
    if (c.is(F::LI)) json_object_set_new(j, "li", c.ins->to_json().release());
    if (c.is(F::LD)) json_object_set_new(j, "ld", c.del->to_json().release());
    if (c.is(F::OI)) json_object_set_new(j, "oi", c.ins->to_json().release());
    if (c.is(F::OD)) json_object_set_new(j, "od", c.del->to_json().release());
    if (c.is(F::SI)) json_object_set_new(j, "si", json_stringn_nocheck(c.str.data(), c.str.size()));
    if (c.is(F::SD)) json_object_set_new(j, "sd", json_stringn_nocheck(c.str.data(), c.str.size()));
    return o.release();
}

} // namespace

Op parse_op(const json_t *op) {
    if (!json_is_array(op)) bad_op(std::string("an op must be an array, not ") + json_type_name(op));
    Op out;
    out.reserve(json_array_size(op));
    for (size_t i = 0; i < json_array_size(op); i++)
        out.push_back(parse_component(json_array_get(op, i)));
    return out;
}

namespace {

// parse_component on a parsed Value (the op's JSON text): the same checks and messages; values are moved, not copied.
Component parse_component(Value &&cv) {
    if (!cv.is_object()) bad_op("a component must be an object");
    ComponentFields<Value> f;
    Object &obj = cv.obj();
    for (std::size_t i = 0; i < obj.size(); i++)
        f.set(obj.at(i).first, &obj.at(i).second);
    Value *p = f.p, *t = f.t, *o = f.o, *na = f.na, *li = f.li, *ld = f.ld, *lm = f.lm, *oi = f.oi, *od = f.od,
          *si = f.si, *sd = f.sd;
    Component out;
    if (p == nullptr || !p->is_array()) bad_op("Missing path");
    out.p.reserve(p->arr().size());
    for (Value &e : p->arr()) {
        if (e.kind() == Value::Kind::Int && e.int_value() >= 0)
            out.p.push_back(Scalar::integer(e.int_value()));
        else if (e.is_string())
            out.p.push_back(Scalar::str(std::string(e.str())));
        else
            bad_op("path elements must be non-negative integers or strings");
    }
    const bool has_t = t || o;
    const int kinds =
        has_t + (na != nullptr) + (li || ld) + (lm != nullptr) + (oi || od) + (si != nullptr) + (sd != nullptr);
    if (kinds != 1) bad_op("a component needs exactly one of na, li/ld, lm, oi/od, si, sd or t/o");
    if (has_t) {
        const Subtype st = t == nullptr || !t->is_string() ? Subtype::None
                           : t->str() == "text0"           ? Subtype::Text0
                           : t->str() == "text-unicode"    ? Subtype::TextUnicode
                                                           : Subtype::None;
        if (st == Subtype::None)
            bad_op(t != nullptr && t->is_string() ? "unknown subtype '" + std::string(t->str().data()) + "'"
                                                  : std::string("t must name a subtype"));
        if (!o) bad_op("a subtype component needs o");
        const JsonPtr oj = o->to_json();
        out.t = st;
        out.has |= F::T;
        if (st == Subtype::Text0)
            out.text0 = text0_parse(oj.get());
        else
            out.text_unicode = text::parse_op(oj.get());
    }
    if (na) {
        if (!na->is_number()) bad_op("na must be a number");
        out.has |= F::NA;
        out.num = na->kind() == Value::Kind::Int ? Scalar::integer(na->int_value()) : Scalar::real(na->real_value());
    }
    if (lm) {
        if (!(lm->kind() == Value::Kind::Int && lm->int_value() >= 0)) bad_op("lm must be a non-negative integer");
        out.has |= F::LM;
        out.num = Scalar::integer(lm->int_value());
    }
    if (si || sd) {
        Value *sv = si ? si : sd;
        if (!sv->is_string()) bad_op("si / sd must be a string");
        out.str = std::string(sv->str());
        out.has |= si ? F::SI : F::SD;
    }
    auto value = [](Value *v) { return std::make_shared<const Value>(std::move(*v)); };
    if (li) out.ins = value(li), out.has |= F::LI;
    if (ld) out.del = value(ld), out.has |= F::LD;
    if (oi) out.ins = value(oi), out.has |= F::OI;
    if (od) out.del = value(od), out.has |= F::OD;
    return out;
}

} // namespace

Op parse_op(std::string_view json_text) {
    Value v;
    if (!Value::parse_text(json_text, &v)) {
        // Something jansson may reject: it reports the error (or parses what the fast parser leaves to it).
        JsonPtr j = json_parse(json_text, ErrorKind::OpBadlyFormed, "json0 op");
        return parse_op(j.get());
    }
    if (!v.is_array()) bad_op(std::string("an op must be an array, not ") + v.type_name());
    Op out;
    out.reserve(v.arr().size());
    for (Value &c : v.arr())
        out.push_back(parse_component(std::move(c)));
    return out;
}

JsonPtr to_json(const Op &op) {
    JsonPtr arr = json_own(json_array());
    for (const Component &c : op)
        json_array_append_new(arr.get(), component_to_json(c));
    return arr;
}

// ---------------------------------------------------------------------------------------------------------------
// Typed apply

namespace {

// What rollback needs to undo one change. Containers are referred to by their heap representation, which stays put
// while the undo log holds every value it removed; a string edit refers to its component (strings move as they grow).
struct UndoLog {
    enum class Kind { Root, ArrSet, ArrInsert, ArrRemove, ArrMove, ObjSet, ObjAppend, ObjRemove, StrInsert, StrErase };
    struct Entry {
        Kind kind;
        void *container;
        std::size_t a, b;
        Value old;
        std::string text;
    };
    std::vector<Entry> entries;

    void rollback(Value &root) noexcept;
};

// A place in the document: the root, an array element or an object member.
struct Slot {
    Value *v = nullptr;
    Value::Array *arr = nullptr;
    Object *obj = nullptr;
    std::size_t idx = 0;
};

std::string key_of(const Scalar &k) { return k.kind == K::Str ? k.s : std::to_string(k.i); }

// elem[k] as the jansson apply looked it up (an integer names an object key by its decimal form).
Slot child(Value &elem, const Scalar &k) {
    Slot s;
    if (elem.is_array() && k.kind == K::Int) {
        Value::Array &a = elem.arr();
        if (k.i >= 0 && static_cast<std::size_t>(k.i) < a.size()) {
            s.arr = &a;
            s.idx = static_cast<std::size_t>(k.i);
            s.v = &a[s.idx];
        }
    } else if (elem.is_object() && (k.kind == K::Str || k.kind == K::Int)) {
        Object &o = elem.obj();
        const std::size_t i = k.kind == K::Str ? o.index_of(k.s) : o.index_of(std::to_string(k.i));
        if (i != Object::npos) {
            s.obj = &o;
            s.idx = i;
            s.v = &o.at(i).second;
        }
    }
    return s;
}

std::string elements(std::size_t n) { return std::to_string(n) + (n == 1 ? " element" : " elements"); }

// "a list", "an object", "a string", "a number", "a boolean" or "null", for messages.
std::string a_kind(const Value &v) {
    if (v.is_array()) return "a list";
    if (v.is_object()) return "an object";
    if (v.is_string()) return "a string";
    if (v.is_number()) return "a number";
    const std::string_view name = v.type_name();
    return name == "null" ? "null" : "a boolean";
}

// Why p[j] names nothing in parent (the value at p[0, j)).
std::string missing_step(const Value &parent, const Path &p, std::size_t j) {
    const std::string where = j == 0 ? std::string("the document root") : dump_path(p, j);
    if (parent.is_object()) return "the key " + dump_path(p, j + 1) + " does not exist";
    if (parent.is_array())
        return p[j].kind == K::Int ? "the index " + dump_path(p, j + 1) + " is past the end of the list at " + where +
                                         " (" + elements(parent.arr().size()) + ")"
                                   : "the list at " + where + " needs an integer index, not " + dump_path(p, j + 1);
    return where + " is " + a_kind(parent) + ", which has no elements or keys";
}

// Walks p[0, n) from the root; throws naming the first step that is missing.
Slot walk(Value &root, const Path &p, std::size_t n) {
    Slot s;
    s.v = &root;
    for (std::size_t j = 0; j < n; j++) {
        Value *parent = s.v;
        s = child(*parent, p[j]);
        if (s.v == nullptr) not_applicable(missing_step(*parent, p, j));
    }
    return s;
}

void UndoLog::rollback(Value &root) noexcept {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        Entry &e = *it;
        switch (e.kind) {
        case Kind::Root:
            root = std::move(e.old);
            break;
        case Kind::ArrSet:
            (*static_cast<Value::Array *>(e.container))[e.a] = std::move(e.old);
            break;
        case Kind::ArrInsert: {
            auto &arr = *static_cast<Value::Array *>(e.container);
            arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(e.a));
            break;
        }
        case Kind::ArrRemove: {
            auto &arr = *static_cast<Value::Array *>(e.container);
            arr.insert(arr.begin() + static_cast<std::ptrdiff_t>(e.a), std::move(e.old));
            break;
        }
        case Kind::ArrMove: {
            auto &arr = *static_cast<Value::Array *>(e.container);
            Value v = std::move(arr[e.b]);
            arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(e.b));
            arr.insert(arr.begin() + static_cast<std::ptrdiff_t>(e.a), std::move(v));
            break;
        }
        case Kind::ObjSet:
            static_cast<Object *>(e.container)->at(e.a).second = std::move(e.old);
            break;
        case Kind::ObjAppend:
            static_cast<Object *>(e.container)->remove_at(e.a);
            break;
        case Kind::ObjRemove:
            static_cast<Object *>(e.container)->insert_at(e.a, std::move(e.text), std::move(e.old));
            break;
        case Kind::StrInsert:
        case Kind::StrErase: {
            // The string is found again by its path: strings move when they grow. Entries are undone newest
            // first, so the document is as this component left it and the path leads to the same string.
            const Component &c = *static_cast<const Component *>(e.container);
            try {
                Value &sv = *walk(root, c.p, c.p.size() - 1).v;
                if (e.kind == Kind::StrInsert)
                    sv.str_erase(e.a, e.b);
                else
                    sv.str_insert(e.a, e.text);
            } catch (...) {
            }
            break;
        }
        }
    }
    entries.clear();
}

void replace(Value &root, const Slot &s, Value next, UndoLog *undo) {
    if (undo) {
        if (s.arr)
            undo->entries.push_back({UndoLog::Kind::ArrSet, s.arr, s.idx, 0, std::move(*s.v), {}});
        else if (s.obj)
            undo->entries.push_back({UndoLog::Kind::ObjSet, s.obj, s.idx, 0, std::move(*s.v), {}});
        else
            undo->entries.push_back({UndoLog::Kind::Root, nullptr, 0, 0, std::move(root), {}});
    }
    *s.v = std::move(next);
}

Value subtype_apply(const Value &cur, const Component &c) {
    if (c.t == Subtype::Text0) {
        const text0::TOp o = to_tc(c.text0);
        if (!cur.is_string())
            not_applicable(std::string("text0 op applied to a ") + cur.type_name() + ", not a string");
        std::u16string s = to16(cur.str().data(), cur.str().size());
        for (const text0::TC &tc : o) {
            if (tc.p > static_cast<std::int64_t>(s.size())) not_applicable("text0 position past the end of the string");
            if (tc.ins) {
                s = text0::inject(s, tc.p, tc.s);
            } else {
                if (text0::slice(s, tc.p, tc.p + text0::len(tc)) != tc.s)
                    not_applicable("text0 delete component does not match the deleted text");
                s.erase(static_cast<size_t>(tc.p), tc.s.size());
            }
        }
        return Value::string(to8(s));
    }
    if (!cur.is_string())
        not_applicable(std::string("text-unicode op applied to a ") + cur.type_name() + ", not a string");
    text::validate_utf8(cur.str(), "text-unicode data");
    return Value::string(text::apply(cur.str(), c.text_unicode));
}

// si / sd: an edit at a UTF-16 offset of a UTF-8 string, with text0's checks and errors.
void apply_text(Value &root, const Component &c, UndoLog *undo) {
    const std::size_t n = c.p.size();
    if (n == 0) bad_op("text0 component missing position field");
    Slot s = walk(root, c.p, n - 1);
    const Scalar &off = c.p[n - 1];
    if (off.kind != K::Int) bad_op("text0 component missing position field");
    if (off.i < 0) bad_op("text0 position cannot be negative");
    if (!s.v->is_string()) not_applicable(std::string("text0 op applied to a ") + s.v->type_name() + ", not a string");
    Value &sv = *s.v;
    const std::string_view str = sv.str();
    // UTF-16 offset -> byte offset; mid: the offset falls between the two halves of a surrogate pair.
    const auto units = static_cast<std::uint64_t>(off.i);
    std::uint64_t u = 0;
    std::size_t b = 0;
    bool mid = false;
    while (u < units && b < str.size()) {
        const auto lead = static_cast<unsigned char>(str[b]);
        const std::size_t len = lead < 0x80 ? 1 : (lead >> 5) == 6 ? 2 : (lead >> 4) == 14 ? 3 : 4;
        const std::uint64_t w = len == 4 ? 2 : 1;
        if (u + w > units) {
            mid = true;
            break;
        }
        u += w;
        b += len;
    }
    if (!mid && u < units) not_applicable("text0 position past the end of the string");
    if (c.is(F::SI)) {
        if (c.str.empty()) return;
        if (mid) throw OtError(ErrorKind::InvalidText, "json0: text0 op would split a surrogate pair");
        if (undo) undo->entries.reserve(undo->entries.size() + 1);
        sv.str_insert(b, c.str);
        if (undo)
            undo->entries.push_back(
                {UndoLog::Kind::StrInsert, const_cast<Component *>(&c), b, c.str.size(), Value(), {}});
    } else {
        if (c.str.empty()) return;
        if (mid || str.size() - b < c.str.size() || str.compare(b, c.str.size(), c.str) != 0)
            not_applicable("text0 delete component does not match the deleted text");
        if (undo) undo->entries.push_back({UndoLog::Kind::StrErase, const_cast<Component *>(&c), b, 0, Value(), c.str});
        sv.str_erase(b, c.str.size());
    }
}

void apply_component(Value &root, const Component &c, UndoLog *undo) {
    // The op's values are needed after the path walk: start loading them now.
    if (c.del) __builtin_prefetch(c.del.get());
    if (c.ins) __builtin_prefetch(c.ins.get());
    if (c.is(kText)) {
        apply_text(root, c, undo);
        return;
    }
    const std::size_t n = c.p.size();
    if (n == 0) {
        Value next;
        if (c.t != Subtype::None) {
            next = subtype_apply(root, c);
        } else if (c.is(F::NA)) {
            if (!root.is_number()) not_applicable("na needs a number, and the document root is " + a_kind(root));
            next = value_add(root, c.num);
        } else if (c.is(F::OI)) {
            if (c.is(F::OD) && !js_equal(root, *c.del))
                not_applicable("od does not match the document (the root): send the document's current value");
            next = *c.ins;
        } else if (c.is(F::OD)) {
            not_applicable("cannot delete the document root (use oi+od to replace it)");
        } else {
            not_applicable("a list op needs a path ending in a list index, and the path is empty (the root)");
        }
        replace(root, Slot{&root, nullptr, nullptr, 0}, std::move(next), undo);
        return;
    }

    Slot ps = walk(root, c.p, n - 1);
    Value &elem = *ps.v;
    const Scalar &k = c.p[n - 1];
    const auto here = [&] { return dump_path(c.p, n); };
    const auto parent = [&] { return n == 1 ? std::string("the document root") : dump_path(c.p, n - 1); };
    const auto list_size = [&] { return elements(elem.arr().size()); };

    if (c.t != Subtype::None) {
        Slot s = child(elem, k);
        if (s.v == nullptr) not_applicable(missing_step(elem, c.p, n - 1));
        Value next = subtype_apply(*s.v, c);
        replace(root, s, std::move(next), undo);
    } else if (c.is(F::NA)) {
        Slot s = child(elem, k);
        if (s.v == nullptr) not_applicable(missing_step(elem, c.p, n - 1));
        if (!s.v->is_number()) not_applicable("na needs a number, and " + here() + " is " + a_kind(*s.v));
        Value next = value_add(*s.v, c.num);
        replace(root, s, std::move(next), undo);
    } else if (c.is(F::LI | F::LD | F::LM)) {
        if (!elem.is_array()) not_applicable("li, ld and lm need a list, and " + parent() + " is " + a_kind(elem));
        if (k.kind != K::Int) not_applicable("a list op's last path element must be an integer index, not " + here());
        Value::Array &arr = elem.arr();
        const std::int64_t i = k.i;
        const std::size_t size = arr.size();
        Value *cur = i >= 0 && static_cast<std::size_t>(i) < size ? &arr[static_cast<std::size_t>(i)] : nullptr;
        const auto at = static_cast<std::size_t>(i);
        if (c.is(F::LI) && c.is(F::LD)) {
            if (cur == nullptr)
                not_applicable("the index " + here() + " is past the end of the list (" + list_size() + ")");
            if (!js_equal(*cur, *c.del))
                not_applicable("ld does not match the element at " + here() + ": send the element's current value");
            replace(root, Slot{cur, &arr, nullptr, at}, *c.ins, undo);
        } else if (c.is(F::LI)) {
            if (i < 0 || at > size)
                not_applicable("li at " + here() + " is past the end of the list (" + list_size() + ")");
            arr.insert(arr.begin() + static_cast<std::ptrdiff_t>(at), *c.ins);
            if (undo) undo->entries.push_back({UndoLog::Kind::ArrInsert, &arr, at, 0, Value(), {}});
        } else if (c.is(F::LD)) {
            if (cur == nullptr)
                not_applicable("the index " + here() + " is past the end of the list (" + list_size() + ")");
            if (!js_equal(*cur, *c.del))
                not_applicable("ld does not match the element at " + here() + ": send the element's current value");
            if (undo) undo->entries.push_back({UndoLog::Kind::ArrRemove, &arr, at, 0, std::move(*cur), {}});
            arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(at));
        } else {
            if (cur == nullptr)
                not_applicable("the index " + here() + " is past the end of the list (" + list_size() + ")");
            const std::int64_t to = c.num.i;
            if (c.num.kind != K::Int || to < 0 || static_cast<std::size_t>(to) >= size)
                not_applicable("lm moves " + here() + " to an index past the end of the list (" + list_size() + ")");
            if (to != i) {
                const auto dst = static_cast<std::size_t>(to);
                Value v = std::move(*cur);
                if (dst > at)
                    std::move(arr.begin() + static_cast<std::ptrdiff_t>(at) + 1,
                              arr.begin() + static_cast<std::ptrdiff_t>(dst) + 1,
                              arr.begin() + static_cast<std::ptrdiff_t>(at));
                else
                    std::move_backward(arr.begin() + static_cast<std::ptrdiff_t>(dst),
                                       arr.begin() + static_cast<std::ptrdiff_t>(at),
                                       arr.begin() + static_cast<std::ptrdiff_t>(at) + 1);
                arr[dst] = std::move(v);
                if (undo) undo->entries.push_back({UndoLog::Kind::ArrMove, &arr, at, dst, Value(), {}});
            }
        }
    } else if (c.is(F::OI | F::OD)) {
        if (!elem.is_object()) not_applicable("oi and od need an object, and " + parent() + " is " + a_kind(elem));
        Object &obj = elem.obj();
        const std::size_t pos = k.kind == K::Str ? obj.index_of(k.s) : obj.index_of(key_of(k));
        Value *cur = pos == Object::npos ? nullptr : &obj.at(pos).second;
        if (c.is(F::OD)) {
            if (cur == nullptr) not_applicable("od of the key " + here() + ", which does not exist");
            if (!js_equal(*cur, *c.del))
                not_applicable("od does not match the value at " + here() + ": send the key's current value");
        } else if (cur != nullptr) {
            not_applicable("oi over the existing key " + here() + " needs od with its current value (a replace)");
        }
        if (c.is(F::OI)) {
            if (cur) {
                replace(root, Slot{cur, nullptr, &obj, pos}, *c.ins, undo);
            } else {
                obj.append(key_of(k), *c.ins);
                if (undo) undo->entries.push_back({UndoLog::Kind::ObjAppend, &obj, obj.size() - 1, 0, Value(), {}});
            }
        } else {
            Object::Member m = obj.remove_at(pos);
            if (undo)
                undo->entries.push_back(
                    {UndoLog::Kind::ObjRemove, &obj, pos, 0, std::move(m.second), std::move(m.first)});
        }
    } else {
        bad_op("invalid / missing instruction in op");
    }
}

} // namespace

namespace {

// "json0: <problem>" becomes "json0 op component <i>: <problem>", naming the component that failed.
[[noreturn]] void rethrow_for_component(const OtError &e, std::size_t i) {
    std::string_view what(e.what());
    constexpr std::string_view prefix = "json0: ";
    if (what.starts_with(prefix)) what.remove_prefix(prefix.size());
    throw OtError(e.kind(), "json0 op component " + std::to_string(i) + ": " + std::string(what));
}

} // namespace

void apply(Value &doc, const Op &op) {
    if (op.size() == 1) { // a component changes nothing until all its checks passed
        try {
            apply_component(doc, op[0], nullptr);
        } catch (const OtError &e) {
            rethrow_for_component(e, 0);
        }
        return;
    }
    UndoLog undo;
    std::size_t i = 0;
    try {
        for (; i < op.size(); ++i)
            apply_component(doc, op[i], &undo);
    } catch (const OtError &e) {
        undo.rollback(doc);
        rethrow_for_component(e, i);
    } catch (...) {
        undo.rollback(doc);
        throw;
    }
}

void apply_in_place(JsonPtr &doc, const json_t *op) {
    const Op o = parse_op(op);
    Value v = doc ? Value::from_json(doc.get()) : Value();
    apply(v, o);
    doc = v.to_json();
}

// ---------------------------------------------------------------------------------------------------------------
// Typed transform: ot-json0's transformComponent and append (a port of the jansson code that preceded it, with the
// same JavaScript comparisons on path elements)

namespace {

void t_append(Op &dest, Component &&c) {
    if (dest.empty()) {
        dest.push_back(std::move(c));
        return;
    }
    const std::size_t li = dest.size() - 1;
    const bool both_text = is_text(c) && is_text(dest[li]);
    if (both_text) {
        c_convert_from_text(c);
        c_convert_from_text(dest[li]);
    }
    Component &last = dest[li];
    if (c_path_matches(c.p, last.p)) {
        if (c.t != Subtype::None && last.t != Subtype::None && c.t == last.t) {
            if (c.t == Subtype::Text0) {
                text0::TOp out = to_tc(last.text0);
                for (const text0::TC &x : to_tc(c.text0))
                    text0::append(out, x);
                last.text0 = from_tc(std::move(out));
            } else {
                last.text_unicode = text::compose(last.text_unicode, c.text_unicode);
            }
            if (is_text(c)) {
                const Path p = c.p;
                for (std::size_t i = 0; i + 1 < dest[li].text0.size(); i++) {
                    c.text0.assign(1, std::move(dest[li].text0.back()));
                    dest[li].text0.pop_back();
                    c.p = p;
                    c_convert_to_text(c);
                    dest.push_back(Component(c));
                }
                c_convert_to_text(dest[li]);
            }
        } else if (nn_na(last) && nn_na(c)) {
            Component n;
            n.p = last.p;
            n.has = F::NA;
            n.num = sc_add(last.num, c.num);
            last = std::move(n);
        } else if (last.is(F::LI) && !c.is(F::LI) &&
                   strict_value(c.is(F::LD) ? c.del.get() : nullptr, last.ins.get())) {
            if (last.is(F::LD)) {
                last.has &= static_cast<std::uint16_t>(~F::LI);
                last.ins.reset();
            } else {
                dest.pop_back();
            }
        } else if (last.is(F::OD) && !last.is(F::OI) && c.is(F::OI) && !c.is(F::OD)) {
            last.ins = c.ins;
            last.has |= F::OI;
        } else if (last.is(F::OI) && c.is(F::OD)) {
            if (c.is(F::OI)) {
                last.ins = c.ins;
            } else if (last.is(F::OD)) {
                last.has &= static_cast<std::uint16_t>(~F::OI);
                last.ins.reset();
            } else {
                dest.pop_back();
            }
        } else if (c.is(F::LM) && sc_seq(c_pat(c, c_plen(c) - 1), c.num)) {
            // a move to where it is: nothing
        } else {
            dest.push_back(std::move(c));
        }
    } else {
        if (both_text) {
            c_convert_to_text(c);
            c_convert_to_text(last);
        }
        dest.push_back(std::move(c));
    }
}

std::optional<long> c_common_length(const Component &a, const Component &b) {
    long alen = c_plen(a), blen = c_plen(b);
    if (nn_na(a) || a.t != Subtype::None) alen++;
    if (nn_na(b) || b.t != Subtype::None) blen++;
    if (alen == 0) return -1;
    if (blen == 0) return std::nullopt;
    alen--;
    blen--;
    for (long i = 0; i < alen; i++)
        if (i >= blen || !sc_seq(c_pat(a, i), c_pat(b, i))) return std::nullopt;
    return alen;
}

void t_transform_component(Op &dest, const Component &c_in, const Component &otherC, Side side) {
    Component c = c_in;

    const std::optional<long> common = c_common_length(otherC, c);
    const std::optional<long> common2 = c_common_length(c, otherC);
    long cplength = c_plen(c), otherCplength = c_plen(otherC);
    if (nn_na(c) || c.t != Subtype::None) cplength++;
    if (nn_na(otherC) || otherC.t != Subtype::None) otherCplength++;

    if (common2 && otherCplength > cplength && sc_leq(c_pat(c, *common2), c_pat(otherC, *common2))) {
        if (c.is(F::LD | F::OD)) {
            Component oc = otherC;
            oc.p.assign(otherC.p.begin() + std::min<long>(cplength, c_plen(otherC)), otherC.p.end());
            Value v = *c.del;
            validate(oc);
            apply_component(v, oc, nullptr);
            c.del = std::make_shared<const Value>(std::move(v));
        }
    }

    if (common) {
        const long cm = *common;
        const bool commonOperand = cplength == otherCplength;
        const Component *oc = &otherC;
        Component converted;
        if (is_text(c) && is_text(otherC)) {
            c_convert_from_text(c);
            converted = otherC;
            c_convert_from_text(converted);
            oc = &converted;
        }
        if (oc->t != Subtype::None) {
            if (c.t != Subtype::None && c.t == oc->t) {
                if (c.t == Subtype::Text0) {
                    std::vector<TextComponent> res = from_tc(bootstrap_transform(
                        to_tc(c.text0), to_tc(oc->text0), side, text0::transform_component, text0::append));
                    if (is_text(c)) {
                        const Path p = c.p;
                        for (TextComponent &r : res) {
                            c.text0.assign(1, std::move(r));
                            c.p = p;
                            c_convert_to_text(c);
                            t_append(dest, Component(c));
                        }
                    } else if (!res.empty()) {
                        c.text0 = std::move(res);
                        t_append(dest, std::move(c));
                    }
                } else {
                    text::Op res = text::transform(c.text_unicode, oc->text_unicode, side);
                    if (!res.empty()) {
                        c.text_unicode = std::move(res);
                        t_append(dest, std::move(c));
                    }
                }
                return;
            }
        } else if (otherC.is(F::NA)) {
            // nothing to do
        } else if (otherC.is(F::LI) && otherC.is(F::LD)) {
            if (sc_seq(c_pat(otherC, cm), c_pat(c, cm))) {
                if (!commonOperand) {
                    return;
                } else if (c.is(F::LD)) {
                    if (c.is(F::LI) && side == Side::Left)
                        c.del = otherC.ins;
                    else
                        return;
                }
            }
        } else if (otherC.is(F::LI)) {
            if (c.is(F::LI) && !c.is(F::LD) && commonOperand && sc_seq(c_pat(c, cm), c_pat(otherC, cm))) {
                if (side == Side::Right) c_bump_p(c, cm, 1);
            } else if (sc_le(c_pat(otherC, cm), c_pat(c, cm))) {
                c_bump_p(c, cm, 1);
            }
            if (c.is(F::LM)) {
                if (commonOperand) {
                    if (sc_le(c_pat(otherC, cm), c.num)) c_bump_lm(c, 1);
                }
            }
        } else if (otherC.is(F::LD)) {
            if (c.is(F::LM)) {
                if (commonOperand) {
                    if (sc_seq(c_pat(otherC, cm), c_pat(c, cm))) return;
                    const Scalar p = c_pat(otherC, cm), from = c_pat(c, cm), to = c.num;
                    if (sc_lt(p, to) || (sc_seq(p, to) && sc_lt(from, to))) c_bump_lm(c, -1);
                }
            }
            if (sc_lt(c_pat(otherC, cm), c_pat(c, cm))) {
                c_bump_p(c, cm, -1);
            } else if (sc_seq(c_pat(otherC, cm), c_pat(c, cm))) {
                if (otherCplength < cplength) {
                    return;
                } else if (c.is(F::LD)) {
                    if (c.is(F::LI)) {
                        c.has &= static_cast<std::uint16_t>(~F::LD);
                        c.del.reset();
                    } else {
                        return;
                    }
                }
            }
        } else if (otherC.is(F::LM)) {
            if (c.is(F::LM) && cplength == otherCplength) {
                const Scalar from = c_pat(c, cm), to = c.num, otherFrom = c_pat(otherC, cm), otherTo = otherC.num;
                const Scalar &f = from, &t = to, &of = otherFrom, &ot = otherTo;
                if (!sc_seq(of, ot)) {
                    if (sc_seq(f, of)) {
                        if (side == Side::Left) {
                            c_set_p(c, cm, ot);
                            if (sc_seq(f, t)) c.num = ot;
                        } else {
                            return;
                        }
                    } else {
                        if (sc_lt(of, f)) c_bump_p(c, cm, -1);
                        if (sc_lt(ot, f))
                            c_bump_p(c, cm, 1);
                        else if (sc_seq(f, ot)) {
                            if (sc_lt(ot, of)) {
                                c_bump_p(c, cm, 1);
                                if (sc_seq(f, t)) c_bump_lm(c, 1);
                            }
                        }
                        if (sc_lt(of, t)) {
                            c_bump_lm(c, -1);
                        } else if (sc_seq(t, of)) {
                            if (sc_lt(f, t)) c_bump_lm(c, -1);
                        }
                        if (sc_lt(ot, t)) {
                            c_bump_lm(c, 1);
                        } else if (sc_seq(t, ot)) {
                            if ((sc_lt(of, ot) && sc_lt(f, t)) || (sc_lt(ot, of) && sc_lt(t, f))) {
                                if (side == Side::Right) c_bump_lm(c, 1);
                            } else {
                                if (sc_lt(f, t))
                                    c_bump_lm(c, 1);
                                else if (sc_seq(t, of))
                                    c_bump_lm(c, -1);
                            }
                        }
                    }
                }
            } else if (c.is(F::LI) && !c.is(F::LD) && commonOperand) {
                const Scalar from = c_pat(otherC, cm), to = otherC.num, p = c_pat(c, cm);
                if (sc_lt(from, p)) c_bump_p(c, cm, -1);
                if (sc_lt(to, p)) c_bump_p(c, cm, 1);
            } else {
                const Scalar from = c_pat(otherC, cm), to = otherC.num, p = c_pat(c, cm);
                if (sc_seq(p, from)) {
                    c_set_p(c, cm, to);
                } else {
                    if (sc_lt(from, p)) c_bump_p(c, cm, -1);
                    if (sc_lt(to, p))
                        c_bump_p(c, cm, 1);
                    else if (sc_seq(p, to) && sc_lt(to, from))
                        c_bump_p(c, cm, 1);
                }
            }
        } else if (otherC.is(F::OI) && otherC.is(F::OD)) {
            if (sc_seq(c_pat(c, cm), c_pat(otherC, cm))) {
                if (c.is(F::OI) && commonOperand) {
                    if (side == Side::Right) return;
                    c.del = otherC.ins;
                    c.has |= F::OD;
                } else {
                    return;
                }
            }
        } else if (otherC.is(F::OI)) {
            if (c.is(F::OI) && sc_seq(c_pat(c, cm), c_pat(otherC, cm))) {
                if (side == Side::Left) {
                    Component d;
                    d.p = c.p;
                    d.has = F::OD;
                    d.del = otherC.ins;
                    t_append(dest, std::move(d));
                } else {
                    return;
                }
            }
        } else if (otherC.is(F::OD)) {
            if (sc_leq(c_pat(c, cm), c_pat(otherC, cm))) {
                if (!commonOperand) return;
                if (c.is(F::OI)) {
                    c.has &= static_cast<std::uint16_t>(~F::OD);
                    c.del.reset();
                } else {
                    return;
                }
            }
        }
    }
    t_append(dest, std::move(c));
}

} // namespace

Op transform(const Op &op, const Op &other, Side side) {
    return bootstrap_transform(op, other, side, t_transform_component, t_append);
}

JsonPtr transform(const json_t *op, const json_t *other, Side side) {
    const Op a = parse_op(op);
    const Op b = parse_op(other);
    return to_json(transform(a, b, side));
}

JsonPtr compose(const json_t *a, const json_t *b) {
    check_op(a);
    check_op(b);
    Vec out;
    for (const Ref &c : to_vec(a))
        out.push_back(clone(c.get()));
    for (const Ref &c : to_vec(b))
        append(out, c);
    return from_vec(out);
}

JsonPtr normalize(const json_t *op) {
    Vec in;
    if (json_is_array(op))
        in = to_vec(op);
    else
        in.push_back(Ref::borrow(op));
    Vec out;
    for (const Ref &r : in) {
        if (!json_is_object(r.get())) bad_op("a component must be an object");
        Ref c = clone(r.get());
        if (!nn(c.get(), "p")) set_new(c.get(), "p", json_array());
        append(out, c);
    }
    JsonPtr res = from_vec(out);
    check_op(res.get());
    return res;
}

JsonPtr invert(const json_t *op) {
    check_op(op);
    JsonPtr out = json_own(json_array());
    for (size_t n = json_array_size(op); n-- > 0;) {
        const json_t *c = json_array_get(op, n);
        JsonPtr rp = json_own(json_new_object());
        json_t *r = rp.get();
        json_object_set(r, "p", P(c));
        const JSubtype *st = truthy(get(c, "t")) ? find_subtype(get(c, "t")) : nullptr;
        if (st) {
            json_object_set(r, "t", get(c, "t"));
            json_object_set_new(r, "o", st->invert(get(c, "o")).release());
        }
        if (has(c, "si")) json_object_set(r, "sd", get(c, "si"));
        if (has(c, "sd")) json_object_set(r, "si", get(c, "sd"));
        if (has(c, "oi")) json_object_set(r, "od", get(c, "oi"));
        if (has(c, "od")) json_object_set(r, "oi", get(c, "od"));
        if (has(c, "li")) json_object_set(r, "ld", get(c, "li"));
        if (has(c, "ld")) json_object_set(r, "li", get(c, "ld"));
        if (has(c, "na")) json_object_set_new(r, "na", js_number(-js_num(get(c, "na"))));
        if (has(c, "lm")) {
            json_object_set(r, "lm", pat(c, plen(c) - 1));
            json_t *np = json_array();
            for (long i = 0; i + 1 < plen(c); i++)
                json_array_append(np, pat(c, i));
            json_array_append(np, get(c, "lm"));
            json_object_set_new(r, "p", np);
        }
        json_array_append(out.get(), r);
    }
    return json_own(json_deep_copy(out.get()));
}

// ---------------------------------------------------------------------------------------------------------------
// The OtType

namespace {

std::size_t estimate_bytes(const json_t *v) {
    std::size_t n = 48;
    if (json_is_string(v)) return n + json_string_length(v);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            n += 8 + estimate_bytes(json_array_get(v, i));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(const_cast<json_t *>(v), k, x) n += 48 + std::strlen(k) + estimate_bytes(x);
    }
    return n;
}

class Json0Snapshot final : public Snapshot {
  public:
    explicit Json0Snapshot(Value doc) : doc_(std::move(doc)), bytes_(doc_.estimate_bytes()) {}
    void apply(const json_t *op) override {
        json0::apply(doc_, parse_op(op));
        // Approximate: grows with what the ops insert, never walks the document.
        bytes_ += estimate_bytes(op);
    }
    JsonPtr to_json() const override { return doc_.to_json(); }
    std::size_t memory_bytes() const override { return sizeof(*this) + bytes_; }
    std::uint64_t length() const override {
        if (doc_.is_array()) return doc_.arr().size();
        if (doc_.is_object()) return doc_.obj().size();
        return 0;
    }
    std::unique_ptr<Snapshot> clone() const override { return std::make_unique<Json0Snapshot>(*this); }

  private:
    Value doc_;
    std::size_t bytes_;
};

class Json0Type final : public OtType {
  public:
    std::string_view name() const override { return "json0"; }
    std::string_view uri() const override { return "http://sharejs.org/types/JSONv0"; }
    std::unique_ptr<Snapshot> create(const json_t *data) const override {
        if (data == nullptr) return std::make_unique<Json0Snapshot>(Value());
        return std::make_unique<Json0Snapshot>(Value::from_json(data));
    }
    void check_op(const json_t *op) const override { json0::check_op(op); }
    JsonPtr normalize(const json_t *op) const override { return json0::normalize(op); }
    JsonPtr transform(const json_t *op, const json_t *other, Side side) const override {
        return json0::transform(op, other, side);
    }
    JsonPtr compose(const json_t *a, const json_t *b) const override { return json0::compose(a, b); }
    JsonPtr invert(const json_t *op) const override { return json0::invert(op); }
    std::int64_t transform_position(std::int64_t, const json_t *) const override {
        throw OtError(ErrorKind::Unsupported, "json0 has no transform_position (transform a path instead)");
    }
    bool is_noop(const json_t *op) const override {
        json0::check_op(op);
        return json_array_size(op) == 0;
    }
};

} // namespace

const OtType &type() {
    static const Json0Type instance;
    return instance;
}

} // namespace collab::json0
