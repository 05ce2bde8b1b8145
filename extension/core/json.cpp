#include "json.hpp"

#include <charconv>
#include <cstdlib>
#include <new>
#include <string_view>

namespace collab {

const char *error_kind_name(ErrorKind kind) noexcept {
    switch (kind) {
    case ErrorKind::OpBadlyFormed:
        return "op_badly_formed";
    case ErrorKind::OpNotApplicable:
        return "op_not_applicable";
    case ErrorKind::InvalidText:
        return "invalid_text";
    case ErrorKind::DataBadlyFormed:
        return "data_badly_formed";
    case ErrorKind::TypeNotRecognized:
        return "type_not_recognized";
    case ErrorKind::InvalidArgument:
        return "invalid_argument";
    case ErrorKind::Unsupported:
        return "unsupported";
    }
    return "unknown";
}

JsonPtr json_own(json_t *j) {
    if (j == nullptr) throw std::bad_alloc();
    return JsonPtr(j);
}

json_t *json_new_object() { return json_pack("{}"); }

JsonPtr json_ref(json_t *j) { return JsonPtr(json_incref(j)); }

json_t *json_load_any(std::string_view text, json_error_t &err) {
    json_t *value = json_loadb(text.data(), text.size(), JSON_DECODE_ANY, &err);
    // An integer beyond 64 bits (PostgreSQL prints 1e300 in jsonb as 301 digits) is a number like any other in
    // JavaScript: read the value again with every number as a double.
    if (value == nullptr && std::string_view(err.text).starts_with("too big integer"))
        value = json_loadb(text.data(), text.size(), JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
    return value;
}

JsonPtr json_parse(std::string_view text, ErrorKind error_kind, const char *what) {
    json_error_t err;
    json_t *value = json_load_any(text, err);
    if (value == nullptr) {
        ErrorKind kind = error_kind;
        // jansson reports invalid UTF-8 and unpaired surrogates with these codes; they are text errors.
        if (json_error_code(&err) == json_error_invalid_utf8 || json_error_code(&err) == json_error_null_character)
            kind = ErrorKind::InvalidText;
        const std::string msg(err.text);
        if (msg.find("nicode") != std::string::npos || msg.find("surrogate") != std::string::npos)
            kind = ErrorKind::InvalidText;
        throw OtError(kind, std::string(what) + " is not valid JSON: " + msg);
    }
    return JsonPtr(value);
}

namespace {

void dump_string(std::string &out, const char *s, std::size_t n) {
    static const char kHex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += kHex[c >> 4];
                out += kHex[c & 15];
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

void dump_value(std::string &out, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        out += '{';
        bool first = true;
        const char *key;
        std::size_t key_len;
        json_t *member;
        void *tmp;
        json_object_keylen_foreach_safe(const_cast<json_t *>(v), tmp, key, key_len, member) {
            if (!first) out += ',';
            first = false;
            dump_string(out, key, key_len);
            out += ':';
            dump_value(out, member);
        }
        out += '}';
        break;
    }
    case JSON_ARRAY: {
        out += '[';
        const std::size_t n = json_array_size(v);
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) out += ',';
            dump_value(out, json_array_get(v, i));
        }
        out += ']';
        break;
    }
    case JSON_STRING:
        dump_string(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(json_integer_value(v)));
        out.append(buf, r.ptr);
        break;
    }
    case JSON_REAL: {
        // The shortest text that reads back as the same double (0.1, not 0.10000000000000001), as JavaScript and
        // PostgreSQL print numbers; ".0" keeps an integral value a real when it is read again.
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, json_real_value(v));
        const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
        out += text;
        if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
        break;
    }
    case JSON_TRUE:
        out += "true";
        break;
    case JSON_FALSE:
        out += "false";
        break;
    case JSON_NULL:
        out += "null";
        break;
    }
}

} // namespace

std::string json_dump(const json_t *value) {
    std::string out;
    dump_value(out, value);
    return out;
}

const char *json_type_name(const json_t *value) noexcept {
    if (value == nullptr) return "(missing)"; // a missing member (json_object_get gave NULL); json_typeof(NULL) crashes
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

} // namespace collab
