// Unit tests of the type registry, the type-erased OtType / Snapshot interface, sides, error kinds and the JSON
// helpers.

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "test_support.hpp"
#include "types.hpp"

namespace collab {
namespace {

using collab::testing::J;
using collab::testing::ThrowsKind;

constexpr const char *kUri = "http://sharejs.org/types/text-unicode";

std::string Dump(const JsonPtr &j) { return json_dump(j.get()); }

TEST(Registry, FindsTextUnicodeByNameAndUri) {
    const OtType *by_name = find_type("text-unicode");
    ASSERT_NE(by_name, nullptr);
    EXPECT_EQ(by_name->name(), "text-unicode");
    EXPECT_EQ(by_name->uri(), kUri);
    EXPECT_EQ(find_type(kUri), by_name);
    EXPECT_EQ(&require_type("text-unicode"), by_name);
    EXPECT_EQ(&require_type(kUri), by_name);
    EXPECT_EQ(&text::type(), by_name);
}

TEST(Registry, UnknownTypes) {
    for (const char *name : {"", "text", "no-such-type", "TEXT-UNICODE", "text-unicode ", " text-unicode",
                             "http://sharejs.org/types/text-unicode/", "http://sharejs.org/types/textv1"}) {
        EXPECT_EQ(find_type(name), nullptr) << "'" << name << "'";
        EXPECT_TRUE(ThrowsKind([&] { (void)require_type(name); }, ErrorKind::TypeNotRecognized)) << name;
    }
    try {
        (void)require_type("rich-text");
        FAIL() << "no error";
    } catch (const OtError &e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("rich-text"), std::string::npos) << msg;    // names what was asked for
        EXPECT_NE(msg.find("text-unicode"), std::string::npos) << msg; // and what is known
    }
}

TEST(Sides, ParseSide) {
    EXPECT_EQ(parse_side("left"), Side::Left);
    EXPECT_EQ(parse_side("right"), Side::Right);
    for (const char *bad : {"", "Left", "RIGHT", "l", "middle", "left "})
        EXPECT_TRUE(ThrowsKind([&] { (void)parse_side(bad); }, ErrorKind::InvalidArgument)) << bad;
}

TEST(Errors, KindNamesAreDistinct) {
    const ErrorKind kinds[] = {ErrorKind::OpBadlyFormed,   ErrorKind::OpNotApplicable,   ErrorKind::InvalidText,
                               ErrorKind::DataBadlyFormed, ErrorKind::TypeNotRecognized, ErrorKind::InvalidArgument,
                               ErrorKind::Unsupported};
    std::set<std::string> names;
    for (ErrorKind k : kinds) {
        const std::string name = error_kind_name(k);
        EXPECT_NE(name, "unknown");
        EXPECT_FALSE(name.empty());
        names.insert(name);
    }
    EXPECT_EQ(names.size(), std::size(kinds));
    EXPECT_STREQ(error_kind_name(ErrorKind::OpBadlyFormed), "op_badly_formed");
    EXPECT_STREQ(error_kind_name(ErrorKind::OpNotApplicable), "op_not_applicable");
    EXPECT_STREQ(error_kind_name(ErrorKind::TypeNotRecognized), "type_not_recognized");
    const OtError e(ErrorKind::InvalidText, "bad bytes");
    EXPECT_EQ(e.kind(), ErrorKind::InvalidText);
    EXPECT_STREQ(e.what(), "bad bytes");
}

class TextType : public ::testing::Test {
  protected:
    const OtType &t = require_type("text-unicode");
};

TEST_F(TextType, PureApply) {
    EXPECT_EQ(Dump(t.apply(J(R"("hello")").get(), J(R"([5, "!"])").get())), R"("hello!")");
    EXPECT_EQ(Dump(t.apply(J(R"("a😀b")").get(), J(R"([1, {"d": "😀"}])").get())), R"("ab")");
    // No data (JSON null or absent) is the empty document.
    EXPECT_EQ(Dump(t.apply(J("null").get(), J(R"(["x"])").get())), R"("x")");
    EXPECT_EQ(Dump(t.apply(nullptr, J(R"(["x"])").get())), R"("x")");
}

TEST_F(TextType, PureApplyErrors) {
    EXPECT_TRUE(ThrowsKind([&] { (void)t.apply(J("3").get(), J(R"(["x"])").get()); }, ErrorKind::DataBadlyFormed));
    EXPECT_TRUE(
        ThrowsKind([&] { (void)t.apply(J(R"({"s": "x"})").get(), J("[]").get()); }, ErrorKind::DataBadlyFormed));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.apply(J(R"(["x"])").get(), J("[]").get()); }, ErrorKind::DataBadlyFormed));
    JsonPtr bad_utf8 = json_own(json_stringn_nocheck("\xc3(", 2));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.apply(bad_utf8.get(), J("[]").get()); }, ErrorKind::InvalidText));
    JsonPtr nul = json_own(json_stringn("a\0b", 3));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.apply(nul.get(), J("[]").get()); }, ErrorKind::InvalidText));
    EXPECT_TRUE(
        ThrowsKind([&] { (void)t.apply(J(R"("abc")").get(), J(R"([1, 2])").get()); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(
        ThrowsKind([&] { (void)t.apply(J(R"("abc")").get(), J(R"([4, "x"])").get()); }, ErrorKind::OpNotApplicable));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.apply(J(R"("abc")").get(), J(R"([{"d": "abx"}])").get()); },
                           ErrorKind::OpNotApplicable));
}

TEST_F(TextType, Snapshot) {
    std::unique_ptr<Snapshot> s = t.create(J(R"("h😀llo")").get());
    EXPECT_EQ(s->length(), 5u);
    EXPECT_GT(s->memory_bytes(), 0u);
    s->apply(J(R"([5, " world"])").get());
    EXPECT_EQ(Dump(s->to_json()), R"("h😀llo world")");
    EXPECT_EQ(s->length(), 11u);

    std::unique_ptr<Snapshot> copy = s->clone();
    copy->apply(J(R"([{"d": "h😀"}])").get());
    EXPECT_EQ(Dump(copy->to_json()), R"("llo world")");
    EXPECT_EQ(Dump(s->to_json()), R"("h😀llo world")"); // the original is untouched

    // A failed apply leaves the snapshot as it was.
    EXPECT_TRUE(ThrowsKind([&] { s->apply(J(R"(["x", 20, "y"])").get()); }, ErrorKind::OpNotApplicable));
    EXPECT_TRUE(ThrowsKind([&] { s->apply(J(R"(["x", {"d": "nope"}])").get()); }, ErrorKind::OpNotApplicable));
    EXPECT_TRUE(ThrowsKind([&] { s->apply(J(R"(["x", 0])").get()); }, ErrorKind::OpBadlyFormed));
    EXPECT_EQ(Dump(s->to_json()), R"("h😀llo world")");
    EXPECT_EQ(s->length(), 11u);

    std::unique_ptr<Snapshot> empty = t.create(nullptr);
    EXPECT_EQ(empty->length(), 0u);
    EXPECT_EQ(Dump(empty->to_json()), R"("")");
    EXPECT_TRUE(ThrowsKind([&] { (void)t.create(J("[]").get()); }, ErrorKind::DataBadlyFormed));
}

TEST_F(TextType, OpFunctions) {
    EXPECT_NO_THROW(t.check_op(J(R"([3, "hi", 5, {"d": 8}])").get()));
    EXPECT_TRUE(ThrowsKind([&] { t.check_op(J(R"(["hi", 5])").get()); }, ErrorKind::OpBadlyFormed));
    EXPECT_EQ(Dump(t.normalize(J(R"([1, 1, "", "a", {"d": 0}, 3])").get())), R"([2,"a"])");
    EXPECT_TRUE(ThrowsKind([&] { (void)t.normalize(J("[-2]").get()); }, ErrorKind::OpBadlyFormed));
    EXPECT_EQ(Dump(t.transform(J(R"(["a"])").get(), J(R"(["b"])").get(), Side::Left)), R"(["a"])");
    EXPECT_EQ(Dump(t.transform(J(R"(["a"])").get(), J(R"(["b"])").get(), Side::Right)), R"([1,"a"])");
    EXPECT_TRUE(
        ThrowsKind([&] { (void)t.transform(J(R"([1])").get(), J("[]").get(), Side::Left); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.transform(J("[]").get(), J(R"([""])").get(), Side::Left); },
                           ErrorKind::OpBadlyFormed));
    EXPECT_EQ(Dump(t.compose(J(R"(["a"])").get(), J(R"([1, "b"])").get())), R"(["ab"])");
    EXPECT_TRUE(ThrowsKind([&] { (void)t.compose(J(R"([true])").get(), J("[]").get()); }, ErrorKind::OpBadlyFormed));
    EXPECT_EQ(Dump(t.invert(J(R"([1, "ab", {"d": "c"}])").get())), R"([1,{"d":"ab"},"c"])");
    EXPECT_TRUE(ThrowsKind([&] { (void)t.invert(J(R"([{"d": 1}])").get()); }, ErrorKind::Unsupported));
    EXPECT_EQ(t.transform_position(3, J(R"([1, "xy"])").get()), 5);
    EXPECT_EQ(t.transform_position(3, J(R"([1, {"d": 5}])").get()), 1);
    EXPECT_TRUE(t.is_noop(J("[]").get()));
    EXPECT_FALSE(t.is_noop(J(R"(["a"])").get()));
    EXPECT_TRUE(ThrowsKind([&] { (void)t.is_noop(J("[0]").get()); }, ErrorKind::OpBadlyFormed));
}

TEST(Json, ParseAndDump) {
    EXPECT_EQ(Dump(J(R"( {"a" : [1, "x", null]} )")), R"({"a":[1,"x",null]})");
    EXPECT_EQ(Dump(J(R"("caf\u00e9 \ud83d\ude00")")), "\"caf\u00e9 \U0001F600\""); // UTF-8, no \u escapes
    EXPECT_EQ(Dump(J("42")), "42");                                                // any value, not only containers
    EXPECT_TRUE(
        ThrowsKind([] { (void)json_parse("[1,", ErrorKind::DataBadlyFormed, "x"); }, ErrorKind::DataBadlyFormed));
    EXPECT_TRUE(ThrowsKind([] { (void)json_parse("", ErrorKind::OpBadlyFormed, "x"); }, ErrorKind::OpBadlyFormed));
    EXPECT_TRUE(
        ThrowsKind([] { (void)json_parse("\"\xff\"", ErrorKind::OpBadlyFormed, "x"); }, ErrorKind::InvalidText));
    EXPECT_TRUE(
        ThrowsKind([] { (void)json_parse(R"("\udc00")", ErrorKind::OpBadlyFormed, "x"); }, ErrorKind::InvalidText));
    try {
        (void)json_parse("{", ErrorKind::OpBadlyFormed, "the op");
        FAIL() << "no error";
    } catch (const OtError &e) {
        EXPECT_NE(std::string(e.what()).find("the op"), std::string::npos) << e.what();
    }
}

TEST(Json, TypeNames) {
    EXPECT_STREQ(json_type_name(J("{}").get()), "object");
    EXPECT_STREQ(json_type_name(J("[]").get()), "array");
    EXPECT_STREQ(json_type_name(J(R"("s")").get()), "string");
    EXPECT_STREQ(json_type_name(J("1").get()), "integer");
    EXPECT_STREQ(json_type_name(J("1.5").get()), "real");
    EXPECT_STREQ(json_type_name(J("true").get()), "true");
    EXPECT_STREQ(json_type_name(J("false").get()), "false");
    EXPECT_STREQ(json_type_name(J("null").get()), "null");
}

} // namespace
} // namespace collab
