// pg_collab OT core: the json0 document tree. See json0_value.hpp. No PostgreSQL headers.
#include "json0_value.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace collab::json0 {

// ---------------------------------------------------------------------------------------------------------------
// Value

Value Value::boolean(bool b) noexcept {
    Value v;
    v.kind_ = b ? Kind::True : Kind::False;
    return v;
}

Value Value::integer(std::int64_t i) noexcept {
    Value v;
    v.kind_ = Kind::Int;
    v.u_.i = i;
    return v;
}

Value Value::real(double d) noexcept {
    Value v;
    v.kind_ = Kind::Real;
    v.u_.d = d;
    return v;
}

Value::Str *Value::new_str(std::string_view s, std::size_t cap) {
    void *mem = std::malloc(offsetof(Str, data) + cap + 1);
    if (mem == nullptr) throw std::bad_alloc();
    Str *r = static_cast<Str *>(mem);
    r->size = s.size();
    r->cap = cap;
    if (!s.empty()) std::memcpy(r->data, s.data(), s.size());
    r->data[s.size()] = '\0';
    return r;
}

Value Value::string(std::string_view s) {
    Value v;
    v.u_.s = new_str(s, s.size());
    v.kind_ = Kind::String;
    return v;
}

void Value::str_insert(std::size_t pos, std::string_view text) {
    Str *r = u_.s;
    if (r->size + text.size() > r->cap) {
        Str *n = new_str(std::string_view(r->data, pos), std::max(r->size + text.size(), 2 * r->cap));
        std::memcpy(n->data + pos + text.size(), r->data + pos, r->size - pos);
        std::memcpy(n->data + pos, text.data(), text.size());
        n->size = r->size + text.size();
        n->data[n->size] = '\0';
        std::free(r);
        u_.s = n;
        return;
    }
    std::memmove(r->data + pos + text.size(), r->data + pos, r->size - pos);
    std::memcpy(r->data + pos, text.data(), text.size());
    r->size += text.size();
    r->data[r->size] = '\0';
}

void Value::str_erase(std::size_t pos, std::size_t n) noexcept {
    Str *r = u_.s;
    std::memmove(r->data + pos, r->data + pos + n, r->size - pos - n);
    r->size -= n;
    r->data[r->size] = '\0';
}

Value Value::array(Array a) {
    Value v;
    v.u_.a = new Array(std::move(a));
    v.kind_ = Kind::Array;
    return v;
}

Value Value::object() {
    Value v;
    v.u_.o = new Object();
    v.kind_ = Kind::Object;
    return v;
}

Value::Value(const Value &o) : kind_(Kind::Null) {
    switch (o.kind_) {
    case Kind::String:
        u_.s = new_str(o.str(), o.u_.s->size);
        break;
    case Kind::Array:
        u_.a = new Array(*o.u_.a);
        break;
    case Kind::Object:
        u_.o = new Object(*o.u_.o);
        break;
    default:
        u_ = o.u_;
        break;
    }
    kind_ = o.kind_;
}

void Value::reset() noexcept {
    switch (kind_) {
    case Kind::String:
        std::free(u_.s);
        break;
    case Kind::Array:
        delete u_.a;
        break;
    case Kind::Object:
        delete u_.o;
        break;
    default:
        break;
    }
    kind_ = Kind::Null;
}

Value Value::from_json(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        Value v = object();
        Object &o = v.obj();
        const char *k;
        size_t klen;
        json_t *x;
        void *tmp;
        json_object_keylen_foreach_safe(const_cast<json_t *>(j), tmp, k, klen, x) {
            o.append(std::string(k, klen), from_json(x));
        }
        return v;
    }
    case JSON_ARRAY: {
        Array a;
        a.reserve(json_array_size(j));
        for (size_t i = 0; i < json_array_size(j); i++)
            a.push_back(from_json(json_array_get(j, i)));
        return array(std::move(a));
    }
    case JSON_STRING:
        return string(std::string_view(json_string_value(j), json_string_length(j)));
    case JSON_INTEGER:
        return integer(json_integer_value(j));
    case JSON_REAL:
        return real(json_real_value(j));
    case JSON_TRUE:
        return boolean(true);
    case JSON_FALSE:
        return boolean(false);
    case JSON_NULL:
        break;
    }
    return Value();
}

namespace {

json_t *checked(json_t *j) {
    if (j == nullptr) throw std::bad_alloc();
    return j;
}

json_t *to_json_new(const Value &v) {
    switch (v.kind()) {
    case Value::Kind::Null:
        return json_null();
    case Value::Kind::False:
        return json_false();
    case Value::Kind::True:
        return json_true();
    case Value::Kind::Int:
        return checked(json_integer(v.int_value()));
    case Value::Kind::Real:
        return checked(json_real(v.real_value()));
    case Value::Kind::String:
        return checked(json_stringn_nocheck(v.str().data(), v.str().size()));
    case Value::Kind::Array: {
        JsonPtr a = json_own(json_array());
        for (const Value &e : v.arr())
            if (json_array_append_new(a.get(), to_json_new(e)) != 0) throw std::bad_alloc();
        return a.release();
    }
    case Value::Kind::Object: {
        JsonPtr o = json_own(json_new_object());
        for (const Object::Member &m : v.obj().items())
            if (json_object_setn_new_nocheck(o.get(), m.first.data(), m.first.size(), to_json_new(m.second)) != 0)
                throw std::bad_alloc();
        return o.release();
    }
    }
    return json_null();
}

} // namespace

JsonPtr Value::to_json() const { return json_own(to_json_new(*this)); }

const char *Value::type_name() const noexcept {
    switch (kind_) {
    case Kind::Object:
        return "object";
    case Kind::Array:
        return "array";
    case Kind::String:
        return "string";
    case Kind::Int:
        return "integer";
    case Kind::Real:
        return "real";
    case Kind::True:
        return "true";
    case Kind::False:
        return "false";
    case Kind::Null:
        break;
    }
    return "null";
}

std::string Value::dump() const { return json_dump(to_json().get()); }

std::size_t Value::estimate_bytes() const noexcept {
    std::size_t n = 48;
    switch (kind_) {
    case Kind::String:
        return n + u_.s->size;
    case Kind::Array:
        for (const Value &e : *u_.a)
            n += 8 + e.estimate_bytes();
        return n;
    case Kind::Object:
        for (const Object::Member &m : u_.o->items())
            n += 48 + m.first.size() + m.second.estimate_bytes();
        return n;
    default:
        return n;
    }
}

bool js_equal(const Value &a, const Value &b) noexcept {
    if (a.is_number() && b.is_number()) return a.number() == b.number();
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
    case Value::Kind::String:
        return str_equal(a.str(), b.str());
    case Value::Kind::Array: {
        const Value::Array &x = a.arr(), &y = b.arr();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); i++)
            if (!js_equal(x[i], y[i])) return false;
        return true;
    }
    case Value::Kind::Object: {
        const Object &x = a.obj(), &y = b.obj();
        if (x.size() != y.size()) return false;
        for (const Object::Member &m : x.items()) {
            const Value *w = y.find(m.first);
            if (w == nullptr || !js_equal(m.second, *w)) return false;
        }
        return true;
    }
    default:
        return true;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON text

namespace {

class Parser {
  public:
    explicit Parser(std::string_view t) : p_(t.data()), end_(t.data() + t.size()) {}

    bool parse_document(Value *out) {
        if (!value(out, 0)) return false;
        ws();
        return p_ == end_;
    }

  private:
    static constexpr int kMaxDepth = 2048;

    void ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            p_++;
    }
    bool lit(const char *w, std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
        p_ += n;
        return true;
    }

    bool value(Value *out, int depth) {
        ws();
        if (p_ == end_) return false;
        switch (*p_) {
        case '{':
            return object(out, depth + 1);
        case '[':
            return array(out, depth + 1);
        case '"': {
            std::string s;
            if (!string(&s)) return false;
            *out = Value::string(std::move(s));
            return true;
        }
        case 't':
            *out = Value::boolean(true);
            return lit("true", 4);
        case 'f':
            *out = Value::boolean(false);
            return lit("false", 5);
        case 'n':
            *out = Value();
            return lit("null", 4);
        default:
            return number(out);
        }
    }

    bool object(Value *out, int depth) {
        if (depth > kMaxDepth) return false;
        p_++;
        *out = Value::object();
        Object &o = out->obj();
        ws();
        if (p_ < end_ && *p_ == '}') {
            p_++;
            return true;
        }
        for (;;) {
            ws();
            if (p_ == end_ || *p_ != '"') return false;
            std::string key;
            if (!string(&key)) return false;
            ws();
            if (p_ == end_ || *p_ != ':') return false;
            p_++;
            Value v;
            if (!value(&v, depth)) return false;
            const std::size_t at = o.index_of(key);
            if (at == Object::npos)
                o.append(std::move(key), std::move(v));
            else
                o.at(at).second = std::move(v);
            ws();
            if (p_ == end_) return false;
            if (*p_ == ',') {
                p_++;
                continue;
            }
            if (*p_ != '}') return false;
            p_++;
            return true;
        }
    }

    bool array(Value *out, int depth) {
        if (depth > kMaxDepth) return false;
        p_++;
        Value::Array a;
        ws();
        if (p_ < end_ && *p_ == ']') {
            p_++;
            *out = Value::array(std::move(a));
            return true;
        }
        for (;;) {
            Value v;
            if (!value(&v, depth)) return false;
            a.push_back(std::move(v));
            ws();
            if (p_ == end_) return false;
            if (*p_ == ',') {
                p_++;
                continue;
            }
            if (*p_ != ']') return false;
            p_++;
            *out = Value::array(std::move(a));
            return true;
        }
    }

    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool u4(std::uint32_t *cp) {
        if (end_ - p_ < 4) return false;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
            const int h = hex(p_[i]);
            if (h < 0) return false;
            v = v * 16 + static_cast<std::uint32_t>(h);
        }
        p_ += 4;
        *cp = v;
        return true;
    }
    static void put_utf8(std::string *s, std::uint32_t cp) {
        if (cp < 0x80) {
            s->push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            s->push_back(static_cast<char>(0xc0 | (cp >> 6)));
            s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            s->push_back(static_cast<char>(0xe0 | (cp >> 12)));
            s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            s->push_back(static_cast<char>(0xf0 | (cp >> 18)));
            s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    // One UTF-8 sequence starting at p_ (a non-ASCII lead byte): strict (no overlongs, surrogates or > U+10FFFF).
    bool utf8_char(std::string *s) {
        const auto c = static_cast<unsigned char>(*p_);
        std::size_t n;
        std::uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07;
        else
            return false;
        if (static_cast<std::size_t>(end_ - p_) < n) return false;
        for (std::size_t i = 1; i < n; i++) {
            const auto b = static_cast<unsigned char>(p_[i]);
            if ((b & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        s->append(p_, n);
        p_ += n;
        return true;
    }
    bool string(std::string *s) {
        p_++; // "
        for (;;) {
            const char *run = p_;
            while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20 &&
                   static_cast<unsigned char>(*p_) < 0x80)
                p_++;
            s->append(run, static_cast<std::size_t>(p_ - run));
            if (p_ == end_) return false;
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                p_++;
                return true;
            }
            if (c < 0x20) return false;
            if (c >= 0x80) {
                if (!utf8_char(s)) return false;
                continue;
            }
            // backslash
            p_++;
            if (p_ == end_) return false;
            const char e = *p_++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                s->push_back(e);
                break;
            case 'b':
                s->push_back('\b');
                break;
            case 'f':
                s->push_back('\f');
                break;
            case 'n':
                s->push_back('\n');
                break;
            case 'r':
                s->push_back('\r');
                break;
            case 't':
                s->push_back('\t');
                break;
            case 'u': {
                std::uint32_t cp;
                if (!u4(&cp) || cp == 0) return false;
                if (cp >= 0xdc00 && cp < 0xe000) return false;
                if (cp >= 0xd800 && cp < 0xdc00) {
                    std::uint32_t lo;
                    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
                    p_ += 2;
                    if (!u4(&lo) || lo < 0xdc00 || lo >= 0xe000) return false;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                put_utf8(s, cp);
                break;
            }
            default:
                return false;
            }
        }
    }

    bool number(Value *out) {
        const char *start = p_;
        if (p_ < end_ && *p_ == '-') p_++;
        if (p_ == end_) return false;
        if (*p_ == '0') {
            p_++;
        } else if (*p_ >= '1' && *p_ <= '9') {
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
                p_++;
        } else {
            return false;
        }
        bool real = false;
        if (p_ < end_ && *p_ == '.') {
            real = true;
            p_++;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
                p_++;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            real = true;
            p_++;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
            if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
                p_++;
        }
        const std::size_t n = static_cast<std::size_t>(p_ - start);
        if (!real) {
            // At most 18 digits cannot overflow int64; longer integers go to jansson (which may reject them).
            const std::size_t digits = n - (*start == '-');
            if (digits > 18) return false;
            std::int64_t v = 0;
            for (const char *q = start + (*start == '-'); q < p_; q++)
                v = v * 10 + (*q - '0');
            *out = Value::integer(*start == '-' ? -v : v);
            return true;
        }
        char buf[64];
        if (n >= sizeof buf) return false;
        std::memcpy(buf, start, n);
        buf[n] = '\0';
        errno = 0;
        char *endp = nullptr;
        const double d = std::strtod(buf, &endp);
        if (endp != buf + n || errno == ERANGE || std::isinf(d)) return false;
        *out = Value::real(d);
        return true;
    }

    const char *p_;
    const char *end_;
};

} // namespace

bool Value::parse_text(std::string_view text, Value *out) { return Parser(text).parse_document(out); }

// ---------------------------------------------------------------------------------------------------------------
// Object

namespace {

inline std::uint64_t hash_key(std::string_view k) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : k)
        h = (h ^ c) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

} // namespace

std::size_t Object::index_of(std::string_view key) const noexcept {
    if (table_.empty()) {
        for (std::size_t i = 0; i < items_.size(); i++)
            if (str_equal(items_[i].first, key)) return i;
        return npos;
    }
    const std::size_t mask = table_.size() - 1;
    for (std::size_t s = hash_key(key) & mask;; s = (s + 1) & mask) {
        const std::uint32_t e = table_[s];
        if (e == 0) return npos;
        if (str_equal(items_[e - 1].first, key)) return e - 1;
    }
}

void Object::index_add(std::size_t pos) {
    const std::size_t mask = table_.size() - 1;
    std::size_t s = hash_key(items_[pos].first) & mask;
    while (table_[s] != 0)
        s = (s + 1) & mask;
    table_[s] = static_cast<std::uint32_t>(pos + 1);
}

void Object::rebuild() {
    table_.clear();
    if (items_.size() <= kLinearMax) return;
    std::size_t cap = 16;
    while (cap < 2 * items_.size())
        cap *= 2;
    table_.assign(cap, 0);
    for (std::size_t i = 0; i < items_.size(); i++)
        index_add(i);
}

void Object::append(std::string key, Value v) {
    items_.emplace_back(std::move(key), std::move(v));
    if (items_.size() <= kLinearMax) return;
    if (table_.empty() || 2 * items_.size() > table_.size())
        rebuild();
    else
        index_add(items_.size() - 1);
}

void Object::insert_at(std::size_t pos, std::string key, Value v) {
    if (pos >= items_.size()) {
        append(std::move(key), std::move(v));
        return;
    }
    items_.emplace(items_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(key), std::move(v));
    rebuild();
}

Object::Member Object::remove_at(std::size_t pos) {
    Member m = std::move(items_[pos]);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
    if (!table_.empty()) rebuild();
    return m;
}

} // namespace collab::json0
