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

// JavaScript Number(v) for the values that occur in paths; nullptr is undefined (NaN).
double js_num(const json_t *v) {
    if (v == nullptr) return NAN;
    if (json_is_integer(v)) return static_cast<double>(json_integer_value(v));
    if (json_is_real(v)) return json_real_value(v);
    if (json_is_true(v)) return 1;
    if (json_is_false(v) || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        std::string s(json_string_value(v), json_string_length(v));
        size_t b = s.find_first_not_of(" \t\n\r"), e = s.find_last_not_of(" \t\n\r");
        if (b == std::string::npos) return 0;
        s = s.substr(b, e - b + 1);
        char *end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (end != s.c_str() + s.size()) return NAN;
        return d;
    }
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
// JavaScript == between path elements (number vs numeric string).
bool js_leq(const json_t *a, const json_t *b) {
    if (a == nullptr || b == nullptr) return a == b;
    if ((json_is_number(a) && json_is_string(b)) || (json_is_string(a) && json_is_number(b)))
        return js_num(a) == js_num(b);
    return js_seq(a, b);
}
int str_cmp(const json_t *a, const json_t *b) {
    size_t la = json_string_length(a), lb = json_string_length(b);
    int r = std::memcmp(json_string_value(a), json_string_value(b), std::min(la, lb));
    if (r != 0) return r;
    return la < lb ? -1 : (la > lb ? 1 : 0);
}
bool js_lt(const json_t *a, const json_t *b) {
    if (a && b && json_is_string(a) && json_is_string(b)) return str_cmp(a, b) < 0;
    return js_num(a) < js_num(b);
}
bool js_le(const json_t *a, const json_t *b) {
    if (a && b && json_is_string(a) && json_is_string(b)) return str_cmp(a, b) <= 0;
    return js_num(a) <= js_num(b);
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
// x++ / x-- on a path element or lm.
void bump_p(json_t *c, long i, int delta) {
    json_t *p = P(c);
    if (i < 0) return;
    while (static_cast<long>(json_array_size(p)) <= i)
        json_array_append_new(p, json_null());
    json_array_set_new(p, static_cast<size_t>(i), js_number(js_num(json_array_get(p, static_cast<size_t>(i))) + delta));
}
void bump_lm(json_t *c, int delta) { set_new(c, "lm", js_number(js_num(get(c, "lm")) + delta)); }
void set_p(json_t *c, long i, json_t *v) {
    json_t *p = P(c);
    if (i < 0) return;
    while (static_cast<long>(json_array_size(p)) <= i)
        json_array_append_new(p, json_null());
    json_array_set(p, static_cast<size_t>(i), v);
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
template <class C, class TC, class AP>
std::pair<std::vector<C>, std::vector<C>> transform_x(std::vector<C> left, const std::vector<C> &right, const TC &tc,
                                                      const AP &append) {
    std::vector<C> new_right;
    for (size_t i = 0; i < right.size(); i++) {
        std::optional<C> rc = right[i];
        std::vector<C> new_left;
        size_t k = 0;
        while (k < left.size()) {
            std::vector<C> next;
            tc(new_left, left[k], *rc, Side::Left);
            tc(next, *rc, left[k], Side::Right);
            k++;
            if (next.size() == 1) {
                rc = next[0];
            } else if (next.empty()) {
                for (size_t j = k; j < left.size(); j++)
                    append(new_left, left[j]);
                rc.reset();
                break;
            } else {
                auto pair =
                    transform_x(std::vector<C>(left.begin() + static_cast<long>(k), left.end()), next, tc, append);
                for (const C &l : pair.first)
                    append(new_left, l);
                for (const C &r : pair.second)
                    append(new_right, r);
                rc.reset();
                break;
            }
        }
        if (rc) append(new_right, *rc);
        left = std::move(new_left);
    }
    return {std::move(left), std::move(new_right)};
}

template <class C, class TC, class AP>
std::vector<C> bootstrap_transform(const std::vector<C> &op, const std::vector<C> &other, Side side, const TC &tc,
                                   const AP &append) {
    if (other.empty()) return op;
    if (op.size() == 1 && other.size() == 1) {
        std::vector<C> dest;
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

struct Subtype {
    const char *name;
    JsonPtr (*apply)(const json_t *, const json_t *);
    JsonPtr (*transform)(const json_t *, const json_t *, Side);
    JsonPtr (*compose)(const json_t *, const json_t *);
    JsonPtr (*invert)(const json_t *);
    void (*check)(const json_t *);
};

const Subtype kSubtypes[] = {
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

const Subtype *find_subtype(const json_t *t) {
    if (t == nullptr || !json_is_string(t)) return nullptr;
    for (const Subtype &s : kSubtypes)
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
        const Subtype *st = find_subtype(get(cc, "t"));
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

std::optional<long> common_length(const json_t *a, const json_t *b) {
    long alen = plen(a), blen = plen(b);
    if (nn(a, "na") || truthy(get(a, "t"))) alen++;
    if (nn(b, "na") || truthy(get(b, "t"))) blen++;
    if (alen == 0) return -1;
    if (blen == 0) return std::nullopt;
    alen--;
    blen--;
    for (long i = 0; i < alen; i++)
        if (i >= blen || !js_seq(pat(a, i), pat(b, i))) return std::nullopt;
    return alen;
}

void apply_component(JsonPtr &doc, json_t *c, struct Undo &undo);

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

namespace {

struct Undo {
    enum class Kind { Root, ObjRestore, ArrSet, ArrRemoveAt, ArrInsertAt, ArrMove };
    struct Entry {
        Kind kind;
        Ref container;
        std::string key;
        size_t a = 0, b = 0;
        Ref old;
    };
    std::vector<Entry> entries;

    void rollback(JsonPtr &doc) {
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            json_t *ct = it->container.get();
            switch (it->kind) {
            case Kind::Root:
                doc.reset(json_incref(it->old.get()));
                break;
            case Kind::ObjRestore:
                if (it->old)
                    json_object_set(ct, it->key.c_str(), it->old.get());
                else
                    json_object_del(ct, it->key.c_str());
                break;
            case Kind::ArrSet:
                json_array_set(ct, it->a, it->old.get());
                break;
            case Kind::ArrRemoveAt:
                json_array_remove(ct, it->a);
                break;
            case Kind::ArrInsertAt:
                json_array_insert(ct, it->a, it->old.get());
                break;
            case Kind::ArrMove: {
                Ref v = Ref::borrow(json_array_get(ct, it->b));
                json_array_remove(ct, it->b);
                json_array_insert(ct, it->a, v.get());
                break;
            }
            }
        }
        entries.clear();
    }
};

std::string key_string(const json_t *k) {
    if (json_is_string(k)) return std::string(json_string_value(k), json_string_length(k));
    return std::to_string(json_integer_value(k));
}

json_t *child(json_t *elem, const json_t *k) {
    if (json_is_array(elem) && json_is_integer(k)) {
        json_int_t i = json_integer_value(k);
        if (i >= 0 && static_cast<size_t>(i) < json_array_size(elem))
            return json_array_get(elem, static_cast<size_t>(i));
        return nullptr;
    }
    // As in JavaScript, an integer path element names the object key of its decimal form.
    if (json_is_object(elem) && (json_is_string(k) || json_is_integer(k)))
        return json_object_get(elem, key_string(k).c_str());
    return nullptr;
}

// Sets elem[key] = v (elem an array or an object), recording the old value.
void replace_child(json_t *elem, const json_t *k, json_t *v, Undo &undo) {
    if (json_is_array(elem)) {
        size_t i = static_cast<size_t>(json_integer_value(k));
        undo.entries.push_back({Undo::Kind::ArrSet, Ref::borrow(elem), {}, i, 0, Ref::borrow(json_array_get(elem, i))});
        json_array_set(elem, i, v);
    } else {
        std::string key = key_string(k);
        undo.entries.push_back(
            {Undo::Kind::ObjRestore, Ref::borrow(elem), key, 0, 0, Ref::borrow(json_object_get(elem, key.c_str()))});
        json_object_set(elem, key.c_str(), v);
    }
}

void apply_component(JsonPtr &doc, json_t *c, Undo &undo) {
    if (is_text_op(c)) convert_from_text(c);
    json_t *p = P(c);
    const size_t n = json_array_size(p);
    const Subtype *st = truthy(get(c, "t")) && has(c, "o") ? find_subtype(get(c, "t")) : nullptr;

    if (n == 0) {
        json_t *cur = doc.get();
        Ref next;
        if (st) {
            next = Ref::own(st->apply(cur, get(c, "o")).release());
        } else if (has(c, "na")) {
            if (!json_is_number(cur)) not_applicable("Referenced element not a number");
            next = Ref::own(js_add(cur, get(c, "na")));
        } else if (has(c, "oi")) {
            if (has(c, "od") && !js_equal(cur, get(c, "od"))) not_applicable("od does not match the document");
            next = clone(get(c, "oi"));
        } else if (has(c, "od")) {
            not_applicable("cannot delete the document root (use oi+od to replace it)");
        } else {
            not_applicable("Referenced element not a list (the document root)");
        }
        undo.entries.push_back({Undo::Kind::Root, Ref(), {}, 0, 0, Ref::borrow(doc.get())});
        doc.reset(json_incref(next.get()));
        return;
    }

    json_t *elem = doc.get();
    for (size_t j = 0; j + 1 < n; j++) {
        elem = child(elem, json_array_get(p, j));
        if (elem == nullptr) not_applicable("Path invalid: " + json_dump(p));
    }
    const json_t *k = json_array_get(p, n - 1);
    json_t *cur = child(elem, k);

    if (st) {
        if (cur == nullptr) not_applicable("Path invalid: " + json_dump(p));
        Ref next = Ref::own(st->apply(cur, get(c, "o")).release());
        replace_child(elem, k, next.get(), undo);
    } else if (has(c, "na")) {
        if (cur == nullptr || !json_is_number(cur)) not_applicable("Referenced element not a number");
        Ref next = Ref::own(js_add(cur, get(c, "na")));
        replace_child(elem, k, next.get(), undo);
    } else if (has(c, "li") || has(c, "ld") || has(c, "lm")) {
        if (!json_is_array(elem)) not_applicable("Referenced element not a list");
        if (!json_is_integer(k)) not_applicable("list index must be an integer");
        const json_int_t i = json_integer_value(k);
        const size_t size = json_array_size(elem);
        if (has(c, "li") && has(c, "ld")) {
            if (cur == nullptr) not_applicable("list index out of range");
            if (!js_equal(cur, get(c, "ld"))) not_applicable("ld does not match the list element");
            Ref v = clone(get(c, "li"));
            replace_child(elem, k, v.get(), undo);
        } else if (has(c, "li")) {
            if (i < 0 || static_cast<size_t>(i) > size) not_applicable("list insert index out of range");
            Ref v = clone(get(c, "li"));
            json_array_insert(elem, static_cast<size_t>(i), v.get());
            undo.entries.push_back({Undo::Kind::ArrRemoveAt, Ref::borrow(elem), {}, static_cast<size_t>(i), 0, Ref()});
        } else if (has(c, "ld")) {
            if (cur == nullptr) not_applicable("list index out of range");
            if (!js_equal(cur, get(c, "ld"))) not_applicable("ld does not match the list element");
            undo.entries.push_back(
                {Undo::Kind::ArrInsertAt, Ref::borrow(elem), {}, static_cast<size_t>(i), 0, Ref::borrow(cur)});
            json_array_remove(elem, static_cast<size_t>(i));
        } else {
            if (cur == nullptr) not_applicable("list index out of range");
            const json_int_t to = json_integer_value(get(c, "lm"));
            if (to < 0 || static_cast<size_t>(to) >= size) not_applicable("lm target index out of range");
            if (to != i) {
                Ref v = Ref::borrow(cur);
                json_array_remove(elem, static_cast<size_t>(i));
                json_array_insert(elem, static_cast<size_t>(to), v.get());
                undo.entries.push_back({Undo::Kind::ArrMove,
                                        Ref::borrow(elem),
                                        {},
                                        static_cast<size_t>(i),
                                        static_cast<size_t>(to),
                                        Ref()});
            }
        }
    } else if (has(c, "oi") || has(c, "od")) {
        if (!json_is_object(elem)) not_applicable("Referenced element not an object");
        if (has(c, "od")) {
            if (cur == nullptr) not_applicable("od of a missing key " + json_dump(p));
            if (!js_equal(cur, get(c, "od"))) not_applicable("od does not match the document at " + json_dump(p));
        } else if (cur != nullptr) {
            not_applicable("oi without od over an existing key " + json_dump(p));
        }
        if (has(c, "oi")) {
            Ref v = clone(get(c, "oi"));
            replace_child(elem, k, v.get(), undo);
        } else {
            undo.entries.push_back({Undo::Kind::ObjRestore, Ref::borrow(elem), key_string(k), 0, 0, Ref::borrow(cur)});
            json_object_del(elem, key_string(k).c_str());
        }
    } else {
        bad_op("invalid / missing instruction in op");
    }
}

} // namespace

void apply_in_place(JsonPtr &doc, const json_t *op) {
    check_op(op);
    Undo undo;
    try {
        size_t i;
        json_t *c;
        json_array_foreach(op, i, c) {
            Ref cc = clone(c);
            apply_component(doc, cc.get(), undo);
        }
    } catch (...) {
        undo.rollback(doc);
        throw;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Transform

namespace {

void transform_component(Vec &dest, const Ref &c_in, const Ref &other_in, Side side) {
    Ref cr = clone(c_in.get());
    json_t *c = cr.get();
    json_t *otherC = other_in.get();

    const std::optional<long> common = common_length(otherC, c);
    const std::optional<long> common2 = common_length(c, otherC);
    long cplength = plen(c), otherCplength = plen(otherC);
    if (nn(c, "na") || truthy(get(c, "t"))) cplength++;
    if (nn(otherC, "na") || truthy(get(otherC, "t"))) otherCplength++;

    if (common2 && otherCplength > cplength && js_leq(pat(c, *common2), pat(otherC, *common2))) {
        for (const char *f : {"ld", "od"}) {
            if (!has(c, f)) continue;
            Ref oc = clone(otherC);
            json_t *np = json_array();
            for (long i = cplength; i < plen(oc.get()); i++)
                json_array_append(np, pat(oc.get(), i));
            set_new(oc.get(), "p", np);
            JsonPtr v = json_own(json_deep_copy(get(c, f)));
            JsonPtr op = json_own(json_array());
            json_array_append(op.get(), oc.get());
            apply_in_place(v, op.get());
            set(c, f, v.get());
            break;
        }
    }

    if (common) {
        const long cm = *common;
        const bool commonOperand = cplength == otherCplength;
        Ref ocr = Ref::borrow(otherC);
        if (is_text_op(c) && is_text_op(otherC)) {
            convert_from_text(c);
            ocr = clone(otherC);
            convert_from_text(ocr.get());
        }
        json_t *oc = ocr.get();
        const Subtype *ost = truthy(get(oc, "t")) ? find_subtype(get(oc, "t")) : nullptr;
        if (ost) {
            if (truthy(get(c, "t")) && js_seq(get(c, "t"), get(oc, "t"))) {
                JsonPtr res = ost->transform(get(c, "o"), get(oc, "o"), side);
                if (is_text_op(c)) {
                    Ref p = Ref::borrow(P(c));
                    size_t i;
                    json_t *r;
                    json_array_foreach(res.get(), i, r) {
                        json_t *arr = json_array();
                        json_array_append(arr, r);
                        set_new(c, "o", arr);
                        set_new(c, "p", json_copy(p.get()));
                        convert_to_text(c);
                        append(dest, cr);
                    }
                } else if (!json_is_array(res.get()) || json_array_size(res.get()) > 0) {
                    set(c, "o", res.get());
                    append(dest, cr);
                }
                return;
            }
        } else if (has(otherC, "na")) {
            // handled below (nothing to do)
        } else if (has(otherC, "li") && has(otherC, "ld")) {
            if (js_seq(pat(otherC, cm), pat(c, cm))) {
                if (!commonOperand) {
                    return;
                } else if (has(c, "ld")) {
                    if (has(c, "li") && side == Side::Left)
                        set_new(c, "ld", json_deep_copy(get(otherC, "li")));
                    else
                        return;
                }
            }
        } else if (has(otherC, "li")) {
            if (has(c, "li") && !has(c, "ld") && commonOperand && js_seq(pat(c, cm), pat(otherC, cm))) {
                if (side == Side::Right) bump_p(c, cm, 1);
            } else if (js_le(pat(otherC, cm), pat(c, cm))) {
                bump_p(c, cm, 1);
            }
            if (has(c, "lm")) {
                if (commonOperand) {
                    if (js_le(pat(otherC, cm), get(c, "lm"))) bump_lm(c, 1);
                }
            }
        } else if (has(otherC, "ld")) {
            if (has(c, "lm")) {
                if (commonOperand) {
                    if (js_seq(pat(otherC, cm), pat(c, cm))) return;
                    Ref p = Ref::borrow(pat(otherC, cm)), from = Ref::borrow(pat(c, cm)),
                        to = Ref::borrow(get(c, "lm"));
                    if (js_lt(p.get(), to.get()) || (js_seq(p.get(), to.get()) && js_lt(from.get(), to.get())))
                        bump_lm(c, -1);
                }
            }
            if (js_lt(pat(otherC, cm), pat(c, cm))) {
                bump_p(c, cm, -1);
            } else if (js_seq(pat(otherC, cm), pat(c, cm))) {
                if (otherCplength < cplength) {
                    return;
                } else if (has(c, "ld")) {
                    if (has(c, "li"))
                        del(c, "ld");
                    else
                        return;
                }
            }
        } else if (has(otherC, "lm")) {
            if (has(c, "lm") && cplength == otherCplength) {
                Ref from = Ref::borrow(pat(c, cm)), to = Ref::borrow(get(c, "lm")),
                    otherFrom = Ref::borrow(pat(otherC, cm)), otherTo = Ref::borrow(get(otherC, "lm"));
                json_t *f = from.get(), *t = to.get(), *of = otherFrom.get(), *ot = otherTo.get();
                if (!js_seq(of, ot)) {
                    if (js_seq(f, of)) {
                        if (side == Side::Left) {
                            set_p(c, cm, ot);
                            if (js_seq(f, t)) set(c, "lm", ot);
                        } else {
                            return;
                        }
                    } else {
                        if (js_lt(of, f)) bump_p(c, cm, -1);
                        if (js_lt(ot, f))
                            bump_p(c, cm, 1);
                        else if (js_seq(f, ot)) {
                            if (js_lt(ot, of)) {
                                bump_p(c, cm, 1);
                                if (js_seq(f, t)) bump_lm(c, 1);
                            }
                        }
                        if (js_lt(of, t)) {
                            bump_lm(c, -1);
                        } else if (js_seq(t, of)) {
                            if (js_lt(f, t)) bump_lm(c, -1);
                        }
                        if (js_lt(ot, t)) {
                            bump_lm(c, 1);
                        } else if (js_seq(t, ot)) {
                            if ((js_lt(of, ot) && js_lt(f, t)) || (js_lt(ot, of) && js_lt(t, f))) {
                                if (side == Side::Right) bump_lm(c, 1);
                            } else {
                                if (js_lt(f, t))
                                    bump_lm(c, 1);
                                else if (js_seq(t, of))
                                    bump_lm(c, -1);
                            }
                        }
                    }
                }
            } else if (has(c, "li") && !has(c, "ld") && commonOperand) {
                Ref from = Ref::borrow(pat(otherC, cm)), to = Ref::borrow(get(otherC, "lm")),
                    p = Ref::borrow(pat(c, cm));
                if (js_lt(from.get(), p.get())) bump_p(c, cm, -1);
                if (js_lt(to.get(), p.get())) bump_p(c, cm, 1);
            } else {
                Ref from = Ref::borrow(pat(otherC, cm)), to = Ref::borrow(get(otherC, "lm")),
                    p = Ref::borrow(pat(c, cm));
                if (js_seq(p.get(), from.get())) {
                    set_p(c, cm, to.get());
                } else {
                    if (js_lt(from.get(), p.get())) bump_p(c, cm, -1);
                    if (js_lt(to.get(), p.get()))
                        bump_p(c, cm, 1);
                    else if (js_seq(p.get(), to.get()) && js_lt(to.get(), from.get()))
                        bump_p(c, cm, 1);
                }
            }
        } else if (has(otherC, "oi") && has(otherC, "od")) {
            if (js_seq(pat(c, cm), pat(otherC, cm))) {
                if (has(c, "oi") && commonOperand) {
                    if (side == Side::Right) return;
                    set(c, "od", get(otherC, "oi"));
                } else {
                    return;
                }
            }
        } else if (has(otherC, "oi")) {
            if (has(c, "oi") && js_seq(pat(c, cm), pat(otherC, cm))) {
                if (side == Side::Left) {
                    json_t *d = json_new_object();
                    json_object_set(d, "p", P(c));
                    json_object_set(d, "od", get(otherC, "oi"));
                    append(dest, Ref::own(d));
                } else {
                    return;
                }
            }
        } else if (has(otherC, "od")) {
            if (js_leq(pat(c, cm), pat(otherC, cm))) {
                if (!commonOperand) return;
                if (has(c, "oi"))
                    del(c, "od");
                else
                    return;
            }
        }
    }
    append(dest, cr);
}

} // namespace

JsonPtr transform(const json_t *op, const json_t *other, Side side) {
    check_op(op);
    check_op(other);
    return from_vec(bootstrap_transform(to_vec(op), to_vec(other), side, transform_component, append));
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
        const Subtype *st = truthy(get(c, "t")) ? find_subtype(get(c, "t")) : nullptr;
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
    explicit Json0Snapshot(JsonPtr doc) : doc_(std::move(doc)), bytes_(estimate_bytes(doc_.get())) {}
    void apply(const json_t *op) override {
        apply_in_place(doc_, op);
        // Approximate: grows with what the ops insert, never walks the document.
        bytes_ += estimate_bytes(op);
    }
    JsonPtr to_json() const override { return json_own(json_deep_copy(doc_.get())); }
    std::size_t memory_bytes() const override { return sizeof(*this) + bytes_; }
    std::uint64_t length() const override {
        if (json_is_array(doc_.get())) return json_array_size(doc_.get());
        if (json_is_object(doc_.get())) return json_object_size(doc_.get());
        return 0;
    }
    std::unique_ptr<Snapshot> clone() const override {
        return std::make_unique<Json0Snapshot>(json_own(json_deep_copy(doc_.get())));
    }

  private:
    JsonPtr doc_;
    std::size_t bytes_;
};

class Json0Type final : public OtType {
  public:
    std::string_view name() const override { return "json0"; }
    std::string_view uri() const override { return "http://sharejs.org/types/JSONv0"; }
    std::unique_ptr<Snapshot> create(const json_t *data) const override {
        if (data == nullptr) return std::make_unique<Json0Snapshot>(json_own(json_null()));
        return std::make_unique<Json0Snapshot>(json_own(json_deep_copy(data)));
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
