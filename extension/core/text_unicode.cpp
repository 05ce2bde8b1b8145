#include "text_unicode.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace collab::text {

namespace {

constexpr std::uint64_t kMaxCount = (std::uint64_t{1} << 53) - 1; // JavaScript's largest safe integer
constexpr std::uint64_t kAll = std::numeric_limits<std::uint64_t>::max();

using Kind = Component::Kind;

[[noreturn]] void bad_op(std::size_t index, const std::string &what) {
    throw OtError(ErrorKind::OpBadlyFormed, "text-unicode op component " + std::to_string(index) + ": " + what);
}

inline bool is_continuation(unsigned char b) noexcept { return (b & 0xC0) == 0x80; }

// Byte offset of code point cp in s (cp <= count_code_points(s)).
std::size_t cp_to_byte(std::string_view s, std::uint64_t cp) noexcept {
    std::size_t i = 0;
    while (cp > 0 && i < s.size()) {
        ++i;
        while (i < s.size() && is_continuation(static_cast<unsigned char>(s[i])))
            ++i;
        --cp;
    }
    return i;
}

std::uint64_t parse_count(const json_t *v, std::size_t index, const char *what, bool allow_zero) {
    // JSON has one number type: like JavaScript, accept 5.0 as 5, but not 5.5.
    double value = 0;
    if (json_is_integer(v)) {
        value = static_cast<double>(json_integer_value(v));
    } else if (json_is_real(v)) {
        value = json_real_value(v);
        if (value != std::floor(value)) bad_op(index, std::string(what) + " must be an integer, not a fraction");
    } else {
        bad_op(index, std::string(what) + " must be an integer, not " + json_type_name(v));
    }
    const std::string shown = json_is_integer(v) ? std::to_string(json_integer_value(v)) : json_dump(v);
    if (value < 0 || (value == 0 && !allow_zero))
        bad_op(index, std::string(what) + " must be " + (allow_zero ? "non-negative" : "positive") + ", got " + shown);
    if (value > static_cast<double>(kMaxCount) ||
        (json_is_integer(v) && static_cast<std::uint64_t>(json_integer_value(v)) > kMaxCount))
        bad_op(index, std::string(what) + " " + shown + " is larger than 2^53-1");
    return json_is_integer(v) ? static_cast<std::uint64_t>(json_integer_value(v)) : static_cast<std::uint64_t>(value);
}

std::string checked_text(const json_t *v, std::size_t index, const char *what) {
    std::string_view s(json_string_value(v), json_string_length(v));
    validate_utf8(s, ("text-unicode op component " + std::to_string(index) + " " + what).c_str());
    return std::string(s);
}

Component parse_component(const json_t *c, std::size_t index, bool lenient) {
    if (json_is_integer(c) || json_is_real(c)) return Component::skip(parse_count(c, index, "skip", lenient));
    if (json_is_string(c)) {
        std::string s = checked_text(c, index, "insert");
        if (s.empty() && !lenient) bad_op(index, "inserts cannot be empty");
        const std::uint64_t n = count_code_points(s);
        return Component::insert(std::move(s), n);
    }
    if (json_is_object(c)) {
        const json_t *d = json_object_get(c, "d");
        if (d == nullptr || json_object_size(c) != 1) {
            const char *key = nullptr;
            json_t *unused = nullptr;
            json_object_foreach(const_cast<json_t *>(c), key, unused) {
                if (std::string_view(key) != "d")
                    bad_op(index, std::string("unknown component key \"") + key +
                                      "\" (a delete is {\"d\": N} or {\"d\": \"text\"})");
            }
            bad_op(index, "a delete must have the key \"d\"");
        }
        if (json_is_string(d)) {
            std::string s = checked_text(d, index, "delete text");
            if (s.empty() && !lenient) bad_op(index, "deletes must not be empty");
            const std::uint64_t n = count_code_points(s);
            return Component::del_text(std::move(s), n);
        }
        if (json_is_integer(d) || json_is_real(d))
            return Component::del(parse_count(d, index, "delete length", lenient));
        bad_op(index, std::string("delete must be a number or a string, not ") + json_type_name(d));
    }
    bad_op(index,
           std::string("a component must be a skip (number), an insert (string) or a delete ({\"d\": ...}), not ") +
               json_type_name(c));
}

Op parse_components(const json_t *json, bool lenient) {
    if (!json_is_array(json))
        throw OtError(ErrorKind::OpBadlyFormed,
                      std::string("a text-unicode op must be an array of components, not ") + json_type_name(json));
    Op op;
    op.reserve(json_array_size(json));
    std::size_t i = 0;
    const json_t *c = nullptr;
    json_array_foreach(json, i, c) {
        op.push_back(parse_component(c, i, lenient));
        if (!lenient && i > 0 && op[i].kind == Kind::Skip && op[i - 1].kind == Kind::Skip)
            bad_op(i, "adjacent skip components must be combined");
    }
    if (!lenient && !op.empty() && op.back().kind == Kind::Skip)
        bad_op(op.size() - 1, "the op has a trailing skip (remove it)");
    return op;
}

// ot-text-unicode's makeAppend: drops empty components and merges with the previous one of the same kind.
void append(Op &op, Component c) {
    if (c.len == 0) return;
    if (!op.empty() && op.back().kind == c.kind) {
        Component &last = op.back();
        switch (c.kind) {
        case Kind::Skip:
            last.len += c.len;
            return;
        case Kind::Insert:
            last.text += c.text;
            last.len += c.len;
            return;
        case Kind::Delete:
            if (last.has_text && c.has_text) {
                last.text += c.text; // keep the invert information
            } else {
                last.has_text = false;
                last.text.clear();
            }
            last.len += c.len;
            return;
        }
    }
    op.push_back(std::move(c));
}

void trim(Op &op) {
    if (!op.empty() && op.back().kind == Kind::Skip) op.pop_back();
}

// A part of a delete component: n code points starting byte_from bytes into its text.
Component delete_slice(const Component &c, std::uint64_t n, std::size_t byte_from) {
    if (!c.has_text) return Component::del(n);
    std::string_view rest = std::string_view(c.text).substr(byte_from);
    return Component::del_text(std::string(rest.substr(0, cp_to_byte(rest, n))), n);
}

// ot-text-unicode's makeTake: consumes an op component by component, splitting components on demand.
class Taker {
  public:
    explicit Taker(const Op &op) : op_(op) {}

    const Component *peek() const { return idx_ < op_.size() ? &op_[idx_] : nullptr; }

    // Takes up to n code points (kAll: the whole next component). Inserts are never split when indivisible == 'i',
    // deletes never when indivisible == 'd'. Past the end the op is an endless skip (nullopt for kAll).
    std::optional<Component> take(std::uint64_t n, char indivisible) {
        if (idx_ == op_.size()) {
            if (n == kAll) return std::nullopt;
            return Component::skip(n);
        }
        const Component &c = op_[idx_];
        const std::uint64_t left = c.len - off_;
        const bool whole = n == kAll || left <= n || (c.kind == Kind::Insert && indivisible == 'i') ||
                           (c.kind == Kind::Delete && indivisible == 'd');
        const std::uint64_t count = whole ? left : n;
        Component part;
        switch (c.kind) {
        case Kind::Skip:
            part = Component::skip(count);
            break;
        case Kind::Insert: {
            std::string_view rest = std::string_view(c.text).substr(boff_);
            const std::size_t bytes = whole ? rest.size() : cp_to_byte(rest, count);
            part = Component::insert(std::string(rest.substr(0, bytes)), count);
            boff_ += bytes;
            break;
        }
        case Kind::Delete: {
            part = delete_slice(c, count, boff_);
            boff_ += part.text.size();
            break;
        }
        }
        if (whole) {
            ++idx_;
            off_ = 0;
            boff_ = 0;
        } else {
            off_ += count;
        }
        return part;
    }

  private:
    const Op &op_;
    std::size_t idx_ = 0;
    std::uint64_t off_ = 0; // code points consumed from op_[idx_]
    std::size_t boff_ = 0;  // bytes consumed from op_[idx_].text
};

} // namespace

Component Component::skip(std::uint64_t n) { return Component{Kind::Skip, n, {}, false}; }
Component Component::insert(std::string s, std::uint64_t cps) {
    return Component{Kind::Insert, cps, std::move(s), false};
}
Component Component::del(std::uint64_t n) { return Component{Kind::Delete, n, {}, false}; }
Component Component::del_text(std::string s, std::uint64_t cps) {
    return Component{Kind::Delete, cps, std::move(s), true};
}

std::uint64_t count_code_points(std::string_view s) noexcept {
    std::uint64_t n = 0;
    for (unsigned char b : s)
        n += !is_continuation(b);
    return n;
}

void validate_utf8(std::string_view s, const char *what) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char b = p[i];
        if (b == 0)
            throw OtError(ErrorKind::InvalidText,
                          std::string(what) + " contains a NUL character (U+0000), which PostgreSQL cannot store");
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            throw OtError(ErrorKind::InvalidText,
                          std::string(what) + " is not valid UTF-8 (bad lead byte at byte " + std::to_string(i) + ")");
        }
        if (i + len > n)
            throw OtError(ErrorKind::InvalidText, std::string(what) +
                                                      " is not valid UTF-8 (truncated sequence at byte " +
                                                      std::to_string(i) + ")");
        for (std::size_t k = 1; k < len; ++k) {
            if (!is_continuation(p[i + k]))
                throw OtError(ErrorKind::InvalidText, std::string(what) +
                                                          " is not valid UTF-8 (bad continuation byte at byte " +
                                                          std::to_string(i + k) + ")");
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len])
            throw OtError(ErrorKind::InvalidText, std::string(what) +
                                                      " is not valid UTF-8 (overlong encoding at byte " +
                                                      std::to_string(i) + ")");
        if (cp >= 0xD800 && cp <= 0xDFFF)
            throw OtError(ErrorKind::InvalidText,
                          std::string(what) + " contains a lone surrogate (UTF-16 surrogates are not characters)");
        if (cp > 0x10FFFF)
            throw OtError(ErrorKind::InvalidText,
                          std::string(what) + " is not valid UTF-8 (code point above U+10FFFF)");
        i += len;
    }
}

Op parse_op(const json_t *json) { return parse_components(json, false); }
Op parse_op_lenient(const json_t *json) { return parse_components(json, true); }

JsonPtr to_json(const Op &op) {
    JsonPtr arr = json_own(json_array());
    for (const Component &c : op) {
        json_t *v = nullptr;
        switch (c.kind) {
        case Kind::Skip:
            v = json_integer(static_cast<json_int_t>(c.len));
            break;
        case Kind::Insert:
            v = json_stringn(c.text.data(), c.text.size());
            break;
        case Kind::Delete:
            v = json_pack("{s:o}", "d",
                          c.has_text ? json_stringn(c.text.data(), c.text.size())
                                     : json_integer(static_cast<json_int_t>(c.len)));
            break;
        }
        if (v == nullptr || json_array_append_new(arr.get(), v) != 0) throw std::bad_alloc();
    }
    return arr;
}

Op normalize(const Op &op) {
    Op out;
    for (const Component &c : op)
        append(out, c);
    trim(out);
    return out;
}

Op transform(const Op &op1, const Op &op2, Side side) {
    Op out;
    Taker t(op1);
    for (const Component &c2 : op2) {
        switch (c2.kind) {
        case Kind::Skip: {
            std::uint64_t length = c2.len;
            while (length > 0) {
                Component c1 = *t.take(length, 'i');
                const bool is_insert = c1.kind == Kind::Insert;
                const std::uint64_t n = c1.len;
                append(out, std::move(c1));
                if (!is_insert) length -= n;
            }
            break;
        }
        case Kind::Insert:
            // At the same position the left op's insert goes first.
            if (side == Side::Left && t.peek() != nullptr && t.peek()->kind == Kind::Insert)
                append(out, *t.take(kAll, 'i'));
            append(out, Component::skip(c2.len));
            break;
        case Kind::Delete: {
            std::uint64_t length = c2.len;
            while (length > 0) {
                Component c1 = *t.take(length, 'i');
                if (c1.kind == Kind::Insert)
                    append(out, std::move(c1));
                else
                    length -= c1.len; // a skip over deleted text, or text both ops delete: gone either way
            }
            break;
        }
        }
    }
    while (std::optional<Component> c = t.take(kAll, 'i'))
        append(out, std::move(*c));
    trim(out);
    return out;
}

Op compose(const Op &op1, const Op &op2) {
    Op out;
    Taker t(op1);
    for (const Component &c2 : op2) {
        switch (c2.kind) {
        case Kind::Skip: {
            std::uint64_t length = c2.len;
            while (length > 0) {
                Component chunk = *t.take(length, 'd');
                const bool is_delete = chunk.kind == Kind::Delete;
                const std::uint64_t n = chunk.len;
                append(out, std::move(chunk));
                if (!is_delete) length -= n;
            }
            break;
        }
        case Kind::Insert:
            append(out, c2);
            break;
        case Kind::Delete: {
            const std::uint64_t length = c2.len;
            std::uint64_t offset = 0;
            std::size_t byte_offset = 0;
            while (offset < length) {
                Component chunk = *t.take(length - offset, 'd');
                switch (chunk.kind) {
                case Kind::Skip: {
                    Component d = delete_slice(c2, chunk.len, byte_offset);
                    byte_offset += d.text.size();
                    offset += chunk.len;
                    append(out, std::move(d));
                    break;
                }
                case Kind::Insert: {
                    // The text op1 inserted is deleted again: both vanish.
                    if (c2.has_text)
                        byte_offset += cp_to_byte(std::string_view(c2.text).substr(byte_offset), chunk.len);
                    offset += chunk.len;
                    break;
                }
                case Kind::Delete:
                    append(out, std::move(chunk));
                    break;
                }
            }
            break;
        }
        }
    }
    while (std::optional<Component> c = t.take(kAll, 'd'))
        append(out, std::move(*c));
    trim(out);
    return out;
}

std::int64_t transform_position(std::int64_t cursor, const Op &op) {
    std::int64_t pos = 0;
    for (std::size_t i = 0; i < op.size() && cursor > pos; ++i) {
        const Component &c = op[i];
        const auto n = static_cast<std::int64_t>(c.len);
        switch (c.kind) {
        case Kind::Skip:
            pos += n;
            break;
        case Kind::Insert:
            pos += n;
            cursor += n;
            break;
        case Kind::Delete:
            cursor -= std::min(n, cursor - pos);
            break;
        }
    }
    return cursor;
}

Op invert(const Op &op) {
    Op out;
    for (const Component &c : op) {
        switch (c.kind) {
        case Kind::Skip:
            append(out, c);
            break;
        case Kind::Insert:
            append(out, Component::del_text(c.text, c.len));
            break;
        case Kind::Delete:
            if (!c.has_text)
                throw OtError(ErrorKind::Unsupported,
                              "cannot invert a text-unicode op whose delete carries no text ({\"d\": N}); "
                              "send deletes as {\"d\": \"deleted text\"}");
            append(out, Component::insert(c.text, c.len));
            break;
        }
    }
    trim(out);
    return out;
}

namespace {

// Checks that op fits a document of doc_len code points; check_text(pos, c) verifies a text delete.
template <typename CheckText> void check_fits(const Op &op, std::uint64_t doc_len, CheckText check_text) {
    std::uint64_t pos = 0;
    for (std::size_t i = 0; i < op.size(); ++i) {
        const Component &c = op[i];
        switch (c.kind) {
        case Kind::Skip:
            if (pos + c.len > doc_len)
                throw OtError(ErrorKind::OpNotApplicable,
                              "text-unicode op component " + std::to_string(i) + ": skip of " + std::to_string(c.len) +
                                  " at position " + std::to_string(pos) +
                                  " goes past the end of the document (length " + std::to_string(doc_len) + ")");
            pos += c.len;
            break;
        case Kind::Insert:
            break;
        case Kind::Delete:
            if (pos + c.len > doc_len)
                throw OtError(ErrorKind::OpNotApplicable,
                              "text-unicode op component " + std::to_string(i) + ": delete of " +
                                  std::to_string(c.len) + " at position " + std::to_string(pos) +
                                  " goes past the end of the document (length " + std::to_string(doc_len) + ")");
            if (c.has_text && !check_text(pos, c))
                throw OtError(ErrorKind::OpNotApplicable,
                              "text-unicode op component " + std::to_string(i) +
                                  ": the deleted text does not match the document at position " + std::to_string(pos));
            pos += c.len;
            break;
        }
    }
}

} // namespace

std::string apply(std::string_view doc, const Op &op) {
    const std::uint64_t doc_len = count_code_points(doc);
    // Byte cursor over doc, advanced by code points.
    std::size_t b = 0;
    std::uint64_t checked_pos = 0;
    check_fits(op, doc_len, [&](std::uint64_t pos, const Component &c) {
        b += cp_to_byte(doc.substr(b), pos - checked_pos);
        checked_pos = pos;
        return doc.substr(b, c.text.size()) == c.text;
    });
    std::string out;
    out.reserve(doc.size());
    b = 0;
    for (const Component &c : op) {
        switch (c.kind) {
        case Kind::Skip: {
            const std::size_t n = cp_to_byte(doc.substr(b), c.len);
            out.append(doc.substr(b, n));
            b += n;
            break;
        }
        case Kind::Insert:
            out += c.text;
            break;
        case Kind::Delete:
            b += cp_to_byte(doc.substr(b), c.len);
            break;
        }
    }
    out.append(doc.substr(b));
    return out;
}

void apply(Rope &doc, const Op &op) {
    check_fits(op, doc.length(),
               [&](std::uint64_t pos, const Component &c) { return doc.equals_at(pos, c.text, c.len); });
    std::uint64_t pos = 0; // position in the document being built
    for (const Component &c : op) {
        switch (c.kind) {
        case Kind::Skip:
            pos += c.len;
            break;
        case Kind::Insert:
            doc.insert(pos, c.text, c.len);
            pos += c.len;
            break;
        case Kind::Delete:
            doc.erase(pos, c.len);
            break;
        }
    }
}

} // namespace collab::text
