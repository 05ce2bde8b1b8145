#include "json.hpp"

#include <cstdlib>
#include <new>

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

JsonPtr json_parse(std::string_view text, ErrorKind error_kind, const char *what) {
    json_error_t err;
    json_t *value = json_loadb(text.data(), text.size(), JSON_DECODE_ANY, &err);
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

std::string json_dump(const json_t *value) {
    char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (s == nullptr) throw std::bad_alloc();
    std::string out(s);
    std::free(s);
    return out;
}

const char *json_type_name(const json_t *value) noexcept {
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
