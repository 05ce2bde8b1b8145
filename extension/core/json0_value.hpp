// pg_collab OT core: the json0 document tree (Value) and the typed json0 op (Component, Op). No PostgreSQL headers.
//
// Value is a JSON value tree built for json0's apply: a 16-byte tagged value whose containers live on the heap
// (moving a Value never moves its container), objects keep insertion order (as jansson and JavaScript do) and get a
// hash index once they grow past a few keys, strings are UTF-8 in one heap block each (size, capacity, bytes), edited
// in place (a string may move when it grows).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.hpp"
#include "text_unicode.hpp"

namespace collab::json0 {

class Object;

// Byte equality for the short strings of keys and path elements (no library call for them).
inline bool bytes_equal(const char *a, const char *b, std::size_t n) noexcept {
    if (n > 16) return std::char_traits<char>::compare(a, b, n) == 0;
    for (std::size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}
inline bool str_equal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && bytes_equal(a.data(), b.data(), a.size());
}

class Value {
  public:
    enum class Kind : std::uint8_t { Null, False, True, Int, Real, String, Array, Object };
    using Array = std::vector<Value>;

    Value() noexcept { u_.i = 0; }
    static Value boolean(bool b) noexcept;
    static Value integer(std::int64_t i) noexcept;
    static Value real(double d) noexcept;
    static Value string(std::string_view s);
    static Value array(Array a = {});
    static Value object();
    // Deep copy of a jansson value, and back.
    static Value from_json(const json_t *j);
    // Parses JSON text into *out as jansson would (any value at the top, duplicate keys replace the value in place).
    // Returns false, with *out unspecified, for anything jansson might reject (syntax, invalid UTF-8, NUL characters,
    // lone surrogates, integers outside int64, numbers that overflow, nesting deeper than 2048): the caller then lets
    // jansson parse the text for its exact error.
    static bool parse_text(std::string_view text, Value *out);
    JsonPtr to_json() const;

    Value(const Value &o);
    Value(Value &&o) noexcept : kind_(o.kind_), u_(o.u_) { o.kind_ = Kind::Null; }
    Value &operator=(const Value &o) {
        if (this != &o) {
            Value t(o);
            swap(t);
        }
        return *this;
    }
    Value &operator=(Value &&o) noexcept {
        if (this != &o) {
            reset();
            kind_ = o.kind_;
            u_ = o.u_;
            o.kind_ = Kind::Null;
        }
        return *this;
    }
    ~Value() { reset(); }
    void swap(Value &o) noexcept {
        std::swap(kind_, o.kind_);
        std::swap(u_, o.u_);
    }

    Kind kind() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == Kind::Null; }
    bool is_number() const noexcept { return kind_ == Kind::Int || kind_ == Kind::Real; }
    bool is_string() const noexcept { return kind_ == Kind::String; }
    bool is_array() const noexcept { return kind_ == Kind::Array; }
    bool is_object() const noexcept { return kind_ == Kind::Object; }
    bool is_container() const noexcept { return kind_ == Kind::Array || kind_ == Kind::Object; }
    std::int64_t int_value() const noexcept { return u_.i; }
    double real_value() const noexcept { return u_.d; }
    // The value as a JavaScript number (numbers only).
    double number() const noexcept { return kind_ == Kind::Int ? static_cast<double>(u_.i) : u_.d; }
    // A string's UTF-8 text (valid until the string is changed), and in-place edits of it.
    std::string_view str() const noexcept { return {u_.s->data, u_.s->size}; }
    void str_insert(std::size_t pos, std::string_view text);
    void str_erase(std::size_t pos, std::size_t n) noexcept;
    Array &arr() noexcept { return *u_.a; }
    const Array &arr() const noexcept { return *u_.a; }
    Object &obj() noexcept { return *u_.o; }
    const Object &obj() const noexcept { return *u_.o; }

    // JSON type name, as json_type_name() ("object", "array", "string", "integer", "real", "true", ...).
    const char *type_name() const noexcept;
    // Compact JSON text (as json_dump).
    std::string dump() const;
    // Rough memory estimate (as the snapshot's accounting uses).
    std::size_t estimate_bytes() const noexcept;

  private:
    // A string in one heap block: its size, capacity and bytes (NUL-terminated).
    struct Str {
        std::size_t size, cap;
        char data[1];
    };
    static Str *new_str(std::string_view s, std::size_t cap);

    void reset() noexcept;
    Kind kind_ = Kind::Null;
    union U {
        std::int64_t i;
        double d;
        Str *s;
        Array *a;
        Object *o;
    } u_;
};

// Deep equality with JavaScript number semantics (1 == 1.0) and unordered object keys.
bool js_equal(const Value &a, const Value &b) noexcept;

// An object: members in insertion order; a hash index over the keys once it has more than kLinearMax members.
class Object {
  public:
    using Member = std::pair<std::string, Value>;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static constexpr std::size_t kLinearMax = 8;

    Object() = default;
    Object(const Object &o) : items_(o.items_) { rebuild(); }
    Object &operator=(const Object &) = delete;

    std::size_t size() const noexcept { return items_.size(); }
    const std::vector<Member> &items() const noexcept { return items_; }
    Member &at(std::size_t pos) noexcept { return items_[pos]; }
    std::size_t index_of(std::string_view key) const noexcept;
    Value *find(std::string_view key) noexcept {
        const std::size_t i = index_of(key);
        return i == npos ? nullptr : &items_[i].second;
    }
    const Value *find(std::string_view key) const noexcept {
        const std::size_t i = index_of(key);
        return i == npos ? nullptr : &items_[i].second;
    }
    // key must not be present.
    void append(std::string key, Value v);
    void insert_at(std::size_t pos, std::string key, Value v);
    Member remove_at(std::size_t pos);

  private:
    void rebuild();
    void index_add(std::size_t pos);
    std::vector<Member> items_;
    std::vector<std::uint32_t> table_; // open addressing: member position + 1, 0 = empty; empty when small
};

// ---------------------------------------------------------------------------------------------------------------
// The typed op. Components are ported from ot-json0 with JavaScript semantics: a path element (and lm, na) is a
// Scalar, which can also hold what transform may turn it into (null for NaN, a non-integral number, and undefined for
// a read past the end of a path).

struct Scalar {
    enum class Kind : std::uint8_t { Undefined, Null, Int, Real, Str };
    std::string s; // Str
    union {
        std::int64_t i = 0; // Int
        double d;           // Real
    };
    Kind kind = Kind::Undefined;

    static Scalar null() {
        Scalar r;
        r.kind = Kind::Null;
        return r;
    }
    static Scalar integer(std::int64_t v) {
        Scalar r;
        r.kind = Kind::Int;
        r.i = v;
        return r;
    }
    static Scalar real(double v) {
        Scalar r;
        r.kind = Kind::Real;
        r.d = v;
        return r;
    }
    static Scalar str(std::string v) {
        Scalar r;
        r.kind = Kind::Str;
        r.s = std::move(v);
        return r;
    }
    bool is_index() const noexcept { return kind == Kind::Int && i >= 0; }
};

// A vector that keeps up to N elements inside itself (no allocation, and they are read from the same cache lines as
// what holds the vector). Path keeps 4 path elements in the component; Op keeps its first component in the op.
template <class T, std::size_t N> class SmallVector {
  public:
    using value_type = T;
    static constexpr std::size_t kInline = N;

    SmallVector() noexcept = default;
    SmallVector(const T *b, const T *e) { assign(b, e); }
    SmallVector(std::initializer_list<T> l) { assign(l.begin(), l.end()); }
    SmallVector(const SmallVector &o) { assign(o.begin(), o.end()); }
    SmallVector(SmallVector &&o) noexcept { take(o); }
    SmallVector &operator=(const SmallVector &o) {
        if (this != &o) assign(o.begin(), o.end());
        return *this;
    }
    SmallVector &operator=(SmallVector &&o) noexcept {
        if (this != &o) {
            release();
            take(o);
        }
        return *this;
    }
    ~SmallVector() { release(); }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T &operator[](std::size_t i) noexcept { return data_[i]; }
    const T &operator[](std::size_t i) const noexcept { return data_[i]; }
    T &back() noexcept { return data_[size_ - 1]; }
    const T &back() const noexcept { return data_[size_ - 1]; }
    T *begin() noexcept { return data_; }
    T *end() noexcept { return data_ + size_; }
    const T *begin() const noexcept { return data_; }
    const T *end() const noexcept { return data_ + size_; }

    void reserve(std::size_t n) {
        if (n <= cap_) return;
        T *d = static_cast<T *>(::operator new(n * sizeof(T)));
        for (std::size_t i = 0; i < size_; i++) {
            new (d + i) T(std::move(data_[i]));
            data_[i].~T();
        }
        if (data_ != inline_data()) ::operator delete(data_);
        data_ = d;
        cap_ = static_cast<std::uint32_t>(n);
    }
    void push_back(const T &v) {
        if (size_ == cap_) {
            T copy(v); // v may be an element of this vector
            reserve(cap_ * 2);
            new (data_ + size_) T(std::move(copy));
        } else {
            new (data_ + size_) T(v);
        }
        size_++;
    }
    void push_back(T &&v) {
        if (size_ == cap_) {
            T tmp(std::move(v));
            reserve(cap_ * 2);
            new (data_ + size_) T(std::move(tmp));
        } else {
            new (data_ + size_) T(std::move(v));
        }
        size_++;
    }
    void pop_back() noexcept { data_[--size_].~T(); }
    void clear() noexcept {
        while (size_ > 0)
            pop_back();
    }
    void assign(const T *b, const T *e) {
        clear();
        reserve(static_cast<std::size_t>(e - b));
        for (; b != e; ++b)
            push_back(*b);
    }

  private:
    T *inline_data() noexcept { return reinterpret_cast<T *>(buf_); }
    void release() noexcept {
        clear();
        if (data_ != inline_data()) ::operator delete(data_);
        data_ = inline_data();
        cap_ = kInline;
    }
    void take(SmallVector &o) noexcept {
        if (o.data_ != o.inline_data()) {
            data_ = o.data_;
            size_ = o.size_;
            cap_ = o.cap_;
            o.data_ = o.inline_data();
            o.size_ = 0;
            o.cap_ = kInline;
            return;
        }
        data_ = inline_data();
        cap_ = kInline;
        size_ = 0;
        for (T &x : o) {
            new (data_ + size_) T(std::move(x));
            size_++;
        }
        o.clear();
    }
    T *data_ = inline_data();
    std::uint32_t size_ = 0, cap_ = kInline;
    alignas(T) unsigned char buf_[kInline * sizeof(T)];
};
using Path = SmallVector<Scalar, 4>;

// A text0 component (positions and text in UTF-16 code units, as ot-json0's text0 counts them). p is a Scalar
// because an si / sd component converted to text0 carries its last path element there, whatever it is.
struct TextComponent {
    Scalar p;
    bool ins = false;
    std::u16string s;
};

enum class Subtype : std::uint8_t { None, Text0, TextUnicode };

struct Component {
    // Which fields are present (JavaScript `'k' in c`). A present li / ld / oi / od may be JSON null.
    enum Field : std::uint16_t {
        NA = 1 << 0,
        LI = 1 << 1,
        LD = 1 << 2,
        LM = 1 << 3,
        OI = 1 << 4,
        OD = 1 << 5,
        SI = 1 << 6,
        SD = 1 << 7,
        T = 1 << 8, // t and o
    };
    std::uint16_t has = 0;
    Subtype t = Subtype::None;
    Path p;
    Scalar num;                       // the value of na or of lm (a component has at most one of them)
    std::shared_ptr<const Value> ins; // the value of li or of oi; immutable, shared between ops
    std::shared_ptr<const Value> del; // the value of ld or of od
    std::string str;                  // the text of si or of sd (UTF-8)
    std::vector<TextComponent> text0; // o when t == Text0
    text::Op text_unicode;            // o when t == TextUnicode

    bool is(std::uint16_t fields) const noexcept { return (has & fields) != 0; }
};
using Op = SmallVector<Component, 1>;

} // namespace collab::json0
