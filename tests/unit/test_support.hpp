// Helpers shared by the unit tests of the OT core.
#pragma once

#include <gtest/gtest.h>
#include <jansson.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "errors.hpp"
#include "json.hpp"
#include "text_unicode.hpp"

namespace collab::testing {

// Parses JSON test input; the tests only feed it well-formed JSON.
inline JsonPtr J(std::string_view text) { return json_parse(text, ErrorKind::OpBadlyFormed, "test JSON"); }

// Strict parse of a text-unicode op written as JSON.
inline text::Op P(std::string_view json) { return text::parse_op(J(json).get()); }

// Compact JSON of an op, as the npm type would print it with JSON.stringify.
inline std::string S(const text::Op &op) { return json_dump(text::to_json(op).get()); }

// Runs fn and returns the kind of the OtError it throws. Fails the test when fn throws nothing or something else.
inline ::testing::AssertionResult ThrowsKind(const std::function<void()> &fn, ErrorKind expected) {
    try {
        fn();
    } catch (const OtError &e) {
        if (e.kind() == expected) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "threw " << error_kind_name(e.kind()) << " (" << e.what()
                                             << "), expected " << error_kind_name(expected);
    } catch (const std::exception &e) {
        return ::testing::AssertionFailure() << "threw a non-OtError: " << e.what();
    }
    return ::testing::AssertionFailure() << "threw nothing, expected " << error_kind_name(expected);
}

// UTF-8 encoding of a code point sequence (for models kept as std::u32string).
inline std::string Utf8(std::u32string_view s) {
    std::string out;
    for (char32_t c : s) {
        const auto cp = static_cast<std::uint32_t>(c);
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    return out;
}

} // namespace collab::testing
