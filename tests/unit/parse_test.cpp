// Unit tests of text-unicode op parsing: the strict checkOp rules of parse_op, the lenient parse used by normalize,
// UTF-8 validation and the JSON round trip.

#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"
#include "text_unicode.hpp"

namespace collab::text {
namespace {

using collab::testing::J;
using collab::testing::P;
using collab::testing::S;
using collab::testing::ThrowsKind;
using Kind = Component::Kind;

::testing::AssertionResult Rejects(const char *json, ErrorKind kind = ErrorKind::OpBadlyFormed) {
    return ThrowsKind([&] { (void)parse_op(J(json).get()); }, kind);
}

::testing::AssertionResult RejectsLenient(const char *json, ErrorKind kind = ErrorKind::OpBadlyFormed) {
    return ThrowsKind([&] { (void)parse_op_lenient(J(json).get()); }, kind);
}

// An op array holding one string component (insert or, with as_delete, {"d": text}) built from raw bytes, which
// need not be valid UTF-8: jansson's parser would refuse such bytes, so the value is made directly.
JsonPtr RawTextOp(std::string_view bytes, bool as_delete) {
    JsonPtr op = json_own(json_array());
    json_t *s = json_stringn_nocheck(bytes.data(), bytes.size());
    json_t *c = as_delete ? json_pack("{s:o}", "d", s) : s;
    json_array_append_new(op.get(), c);
    return op;
}

TEST(ParseOp, ValidOps) {
    EXPECT_TRUE(P("[]").empty());

    const Op op = P(R"([3, "hi", 5, {"d": 8}, {"d": "x\u00e9"}])");
    ASSERT_EQ(op.size(), 5u);
    EXPECT_EQ(op[0], Component::skip(3));
    EXPECT_EQ(op[1], Component::insert("hi", 2));
    EXPECT_EQ(op[2], Component::skip(5));
    EXPECT_EQ(op[3], Component::del(8));
    EXPECT_EQ(op[4], Component::del_text("x\u00e9", 2));
    EXPECT_FALSE(op[3].has_text);
    EXPECT_TRUE(op[4].has_text);
    EXPECT_EQ(op[4].kind, Kind::Delete);
}

TEST(ParseOp, LengthsCountCodePoints) {
    const Op op = P(R"(["\ud83d\ude00a", {"d": "\u4e2d\ud83c\udf08"}])");
    ASSERT_EQ(op.size(), 2u);
    EXPECT_EQ(op[0].len, 2u);
    EXPECT_EQ(op[0].text, "\U0001F600a");
    EXPECT_EQ(op[1].len, 2u);
    EXPECT_EQ(op[1].text, "\u4e2d\U0001F308");
    // A ZWJ emoji sequence is five code points.
    EXPECT_EQ(P("[\"\U0001F468\u200d\U0001F469\u200d\U0001F467\"]")[0].len, 5u);
}

TEST(ParseOp, AdjacentInsertsAndDeletesAreAllowed) {
    // npm checkOp only forbids adjacent skips; adjacent inserts or deletes are valid (if not normalized).
    EXPECT_EQ(P(R"(["a", "b"])").size(), 2u);
    EXPECT_EQ(P(R"([{"d": 1}, {"d": "x"}])").size(), 2u);
    EXPECT_EQ(P(R"([{"d": 1}, "a", {"d": 2}])").size(), 3u);
}

TEST(ParseOp, RejectsNonArrays) {
    EXPECT_TRUE(Rejects("{}"));
    EXPECT_TRUE(Rejects(R"({"d": 1})"));
    EXPECT_TRUE(Rejects(R"("abc")"));
    EXPECT_TRUE(Rejects("3"));
    EXPECT_TRUE(Rejects("null"));
    EXPECT_TRUE(Rejects("true"));
}

TEST(ParseOp, SkipRules) {
    EXPECT_TRUE(Rejects(R"([0, "a"])"));      // skips must be > 0
    EXPECT_TRUE(Rejects(R"([-1, "a"])"));     // negative
    EXPECT_TRUE(Rejects(R"([1, 2, "a"])"));   // adjacent skips must be combined
    EXPECT_TRUE(Rejects(R"(["a", 1])"));      // trailing skip
    EXPECT_TRUE(Rejects("[1]"));              // an op that is only a skip is a trailing skip
    EXPECT_TRUE(Rejects(R"([{"d": 1}, 4])")); // trailing skip after a delete
    EXPECT_TRUE(Rejects(R"([1.5, "a"])"));    // not an integer
    EXPECT_TRUE(Rejects(R"([2.000001, "a"])"));
}

TEST(ParseOp, InsertAndDeleteMustNotBeEmpty) {
    EXPECT_TRUE(Rejects(R"([""])"));
    EXPECT_TRUE(Rejects(R"([1, "", "a"])"));
    EXPECT_TRUE(Rejects(R"([{"d": 0}])"));
    EXPECT_TRUE(Rejects(R"([{"d": ""}])"));
    EXPECT_TRUE(Rejects(R"([{"d": -3}])"));
    EXPECT_TRUE(Rejects(R"([{"d": 0.5}])"));
}

TEST(ParseOp, CountLimits) {
    // Counts must be exact in a JavaScript number: up to 2^53 - 1.
    EXPECT_EQ(P(R"([9007199254740991, "a"])")[0].len, 9007199254740991u);
    EXPECT_EQ(P(R"([{"d": 9007199254740991}])")[0].len, 9007199254740991u);
    EXPECT_TRUE(Rejects(R"([9007199254740992, "a"])"));
    EXPECT_TRUE(Rejects(R"([{"d": 9007199254740992}])"));
    EXPECT_TRUE(Rejects(R"([9223372036854775807, "a"])"));
    EXPECT_TRUE(Rejects(R"([-9223372036854775808, "a"])"));
    EXPECT_TRUE(Rejects(R"([1e300, "a"])"));
    // Larger than any 64-bit integer: the JSON parser itself refuses it, as a malformed op.
    EXPECT_TRUE(ThrowsKind([] { (void)P(R"([99999999999999999999999, "a"])"); }, ErrorKind::OpBadlyFormed));
}

TEST(ParseOp, UnknownComponentKinds) {
    EXPECT_TRUE(Rejects("[true]"));
    EXPECT_TRUE(Rejects("[false]"));
    EXPECT_TRUE(Rejects("[null]"));
    EXPECT_TRUE(Rejects("[[1]]"));
    EXPECT_TRUE(Rejects(R"(["a", []])"));
    EXPECT_TRUE(Rejects("[{}]"));
    EXPECT_TRUE(Rejects(R"([{"i": "a"}])")); // the old text0 insert form
    EXPECT_TRUE(Rejects(R"([{"p": 0, "i": "a"}])"));
    EXPECT_TRUE(Rejects(R"([{"d": 1, "x": 2}])")); // an extra key next to d
    EXPECT_TRUE(Rejects(R"([{"d": null}])"));
    EXPECT_TRUE(Rejects(R"([{"d": true}])"));
    EXPECT_TRUE(Rejects(R"([{"d": [1]}])"));
    EXPECT_TRUE(Rejects(R"([{"d": {"d": 1}}])"));
}

TEST(ParseOp, InvalidUtf8IsInvalidText) {
    const char *bad[] = {
        "\xff",             // never valid
        "a\xc3",            // truncated two-byte sequence
        "\xe4\xb8",         // truncated three-byte sequence
        "\xc0\xaf",         // overlong '/'
        "\xe0\x80\xaf",     // overlong three-byte
        "\xed\xa0\x80",     // UTF-8 encoded lone surrogate U+D800
        "\xed\xbf\xbf",     // U+DFFF
        "\xf4\x90\x80\x80", // above U+10FFFF
        "\x80",             // lone continuation byte
        "ab\xe2\x28\xa1",   // bad continuation byte
    };
    for (const char *bytes : bad) {
        SCOPED_TRACE(::testing::PrintToString(std::string(bytes)));
        JsonPtr ins = RawTextOp(bytes, false);
        EXPECT_TRUE(ThrowsKind([&] { (void)parse_op(ins.get()); }, ErrorKind::InvalidText));
        JsonPtr del = RawTextOp(bytes, true);
        EXPECT_TRUE(ThrowsKind([&] { (void)parse_op(del.get()); }, ErrorKind::InvalidText));
        EXPECT_TRUE(ThrowsKind([&] { (void)parse_op_lenient(ins.get()); }, ErrorKind::InvalidText));
    }
    // The largest code point and the ones around the surrogate range are fine.
    EXPECT_EQ(parse_op(RawTextOp("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80", false).get())[0].len, 3u);
}

TEST(ParseOp, NulIsInvalidText) {
    JsonPtr ins = RawTextOp(std::string_view("a\0b", 3), false);
    EXPECT_TRUE(ThrowsKind([&] { (void)parse_op(ins.get()); }, ErrorKind::InvalidText));
    JsonPtr del = RawTextOp(std::string_view("\0", 1), true);
    EXPECT_TRUE(ThrowsKind([&] { (void)parse_op(del.get()); }, ErrorKind::InvalidText));
}

TEST(ParseOp, LoneSurrogateEscapeIsInvalidText) {
    EXPECT_TRUE(ThrowsKind([] { (void)J(R"(["\ud800"])"); }, ErrorKind::InvalidText));
    EXPECT_TRUE(ThrowsKind([] { (void)J(R"([{"d": "a\udc00"}])"); }, ErrorKind::InvalidText));
}

TEST(ParseOp, ErrorMessagesNameTheComponent) {
    try {
        (void)P(R"([1, "a", 0])");
        FAIL() << "no error";
    } catch (const OtError &e) {
        EXPECT_NE(std::string(e.what()).find("component 2"), std::string::npos) << e.what();
    }
}

TEST(ParseOpLenient, AcceptsWhatNormalizeCleansUp) {
    const Op op = parse_op_lenient(J(R"([0, "", {"d": 0}, {"d": ""}, 1, 2, "a", "b", {"d": 1}, {"d": "x"}, 4])").get());
    ASSERT_EQ(op.size(), 11u);
    EXPECT_EQ(op[0], Component::skip(0));
    EXPECT_EQ(op[1], Component::insert("", 0));
    EXPECT_EQ(op[2], Component::del(0));
    EXPECT_EQ(op[3], Component::del_text("", 0));
    EXPECT_EQ(op[10], Component::skip(4));
    EXPECT_TRUE(parse_op_lenient(J("[]").get()).empty());
    EXPECT_EQ(parse_op_lenient(J("[5]").get()).size(), 1u);
}

TEST(ParseOpLenient, StillRejectsBadShapesAndNegativeCounts) {
    EXPECT_TRUE(RejectsLenient("{}"));
    EXPECT_TRUE(RejectsLenient("[-1]"));
    EXPECT_TRUE(RejectsLenient(R"([{"d": -1}])"));
    EXPECT_TRUE(RejectsLenient("[1.5]"));
    EXPECT_TRUE(RejectsLenient("[null]"));
    EXPECT_TRUE(RejectsLenient("[true]"));
    EXPECT_TRUE(RejectsLenient(R"([{"i": "a"}])"));
    EXPECT_TRUE(RejectsLenient("[9007199254740992]"));
}

TEST(ToJson, RoundTrip) {
    const char *ops[] = {
        "[]",
        R"([3,"hi",5,{"d":8}])",
        R"(["é😀",{"d":"中"},2,{"d":1}])",
        R"([{"d":"a"},"b"])",
    };
    for (const char *json : ops)
        EXPECT_EQ(S(P(json)), json);
}

TEST(ToJson, KeepsUtf8AsIs) {
    // No \u escapes for non-ASCII text: the output is what JSON.stringify prints.
    EXPECT_EQ(S({Component::insert("\U0001F600", 1)}), "[\"\U0001F600\"]");
    EXPECT_EQ(S({Component::insert("a\"b\\c\n", 6)}), R"(["a\"b\\c\n"])");
}

TEST(ValidateUtf8, AcceptsAndRejects) {
    EXPECT_NO_THROW(validate_utf8("", "x"));
    EXPECT_NO_THROW(validate_utf8("plain", "x"));
    EXPECT_NO_THROW(validate_utf8("\u00e9\u4e2d\U0001F600\U0010FFFF", "x"));
    EXPECT_TRUE(ThrowsKind([] { validate_utf8("\xfe", "x"); }, ErrorKind::InvalidText));
    EXPECT_TRUE(ThrowsKind([] { validate_utf8(std::string_view("\0", 1), "x"); }, ErrorKind::InvalidText));
    try {
        validate_utf8("\xed\xa0\x80", "the thing");
        FAIL() << "no error";
    } catch (const OtError &e) {
        EXPECT_NE(std::string(e.what()).find("the thing"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace collab::text

namespace collab::text {
namespace {

// JSON has one number type: an integral number written with a fraction part (as PostgreSQL's jsonb keeps "2.0")
// counts like the integer, as in JavaScript; a real fraction does not.
TEST(ParseOp, IntegralRealsCountAsIntegers) {
    EXPECT_EQ(testing::P(R"([2.0, "a", {"d": 3.0}])"), testing::P(R"([2, "a", {"d": 3}])"));
    EXPECT_TRUE(testing::ThrowsKind([] { (void)testing::P(R"([2.5, "a"])"); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(testing::ThrowsKind([] { (void)testing::P(R"([-2.0, "a"])"); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(testing::ThrowsKind([] { (void)testing::P(R"([1e300, "a"])"); }, ErrorKind::OpBadlyFormed));
}

// A \u0000 escape is invalid text (PostgreSQL cannot store NUL), not a malformed op.
TEST(ParseOp, NulEscapeIsInvalidText) {
    EXPECT_TRUE(testing::ThrowsKind([] { (void)testing::J(R"(["a\u0000b"])"); }, ErrorKind::InvalidText));
}

} // namespace
} // namespace collab::text
