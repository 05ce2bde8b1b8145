// Unit tests of text-unicode apply, on strings and on ropes: results, every OpNotApplicable case, and atomicity.

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "rope.hpp"
#include "test_support.hpp"
#include "text_unicode.hpp"

namespace collab::text {
namespace {

using collab::testing::P;
using collab::testing::S;
using collab::testing::ThrowsKind;
using collab::testing::Utf8;

struct ApplyCase {
    const char *doc;
    const char *op;
    const char *want;
};

const ApplyCase kApplyCases[] = {
    {"hello", R"([5, " world"])", "hello world"},
    {"hello", R"(["> "])", "> hello"}, // the rest of the document after the op is kept
    {"hello", R"([1, {"d": 3}])", "ho"},
    {"hello", R"([1, {"d": "ell"}, "ipp"])", "hippo"},
    {"hello", R"([1, "ipp", {"d": "ell"}])", "hippo"},
    {"hello", R"([{"d": "hello"}])", ""},
    {"hello", R"([{"d": 5}, "bye"])", "bye"},
    {"abc", R"([3, "x"])", "abcx"}, // a skip to exactly the end is fine
    {"", R"(["x"])", "x"},
    {"", "[]", ""},
    {"abc", "[]", "abc"},
    {"a\U0001F600b", R"([1, {"d": "😀"}, "🎉"])", "a\U0001F389b"},
    {"a\U0001F600b", R"([2, "x"])", "a\U0001F600xb"},
    {"a\U0001F600b", R"([1, {"d": 1}])", "ab"},
    // Positions count code points, so an op may cut a ZWJ sequence (man ZWJ woman ZWJ girl) or a combining sequence.
    {"\U0001F468\u200d\U0001F469\u200d\U0001F467", R"([2, {"d": 1}])", "\U0001F468\u200d\u200d\U0001F467"},
    {"e\u0301t\u00e9", R"([1, {"d": "\u0301"}, 2, "!"])", "et\u00e9!"},
    {"\u4e2d\u6587", R"([1, "\u5b57", {"d": "\u6587"}])", "\u4e2d\u5b57"},
    {"ab", R"(["x", 1, "y", 1, "z"])", "xaybz"},
};

TEST(Apply, StringCases) {
    for (const auto &c : kApplyCases)
        EXPECT_EQ(text::apply(c.doc, P(c.op)), c.want) << "apply(" << c.doc << ", " << c.op << ")";
}

TEST(Apply, RopeCases) {
    for (const auto &c : kApplyCases) {
        Rope r(c.doc);
        text::apply(r, P(c.op));
        EXPECT_EQ(r.to_string(), c.want) << "apply(" << c.doc << ", " << c.op << ")";
        EXPECT_EQ(r.length(), count_code_points(c.want));
    }
}

struct BadApplyCase {
    const char *what;
    const char *doc;
    const char *op;
};

const BadApplyCase kNotApplicable[] = {
    {"skip past the end", "abc", R"([4, "x"])"},
    {"skip past the end of an empty document", "", R"([1, "x"])"},
    {"skip past the end counting code points, not bytes", "\U0001F600", R"([2, "x"])"},
    {"delete past the end", "abc", R"([2, {"d": 2}])"},
    {"delete after the end", "abc", R"([3, {"d": 1}])"},
    {"delete in an empty document", "", R"([{"d": 1}])"},
    {"text delete past the end", "abc", R"([{"d": "abcd"}])"},
    {"text delete that does not match", "abc", R"([{"d": "abd"}])"},
    {"text delete that matches further on only", "abc", R"([{"d": "b"}])"},
    {"astral text delete that does not match", "a\U0001F600", R"([1, {"d": "😁"}])"},
    {"a decomposed delete of precomposed text", "\u00e9", R"([{"d": "e\u0301"}])"},
    {"a later component fails after earlier ones fit", "abc", R"(["x", 1, {"d": "zz"}])"},
    {"a skip past the end after a delete", "abc", R"([{"d": 1}, 5, "x"])"},
    {"a second text delete does not match", "abc", R"(["x", {"d": "a"}, {"d": "c"}])"},
    {"a final delete runs past the end", "abc", R"([1, "y", {"d": "bc"}, "z", {"d": 1}])"},
};

TEST(Apply, NotApplicableOnStrings) {
    for (const auto &c : kNotApplicable) {
        SCOPED_TRACE(c.what);
        EXPECT_TRUE(ThrowsKind([&] { (void)text::apply(c.doc, P(c.op)); }, ErrorKind::OpNotApplicable));
    }
}

TEST(Apply, NotApplicableOnRopesLeavesTheRopeUnchanged) {
    for (const auto &c : kNotApplicable) {
        SCOPED_TRACE(c.what);
        Rope r(c.doc);
        EXPECT_TRUE(ThrowsKind([&] { text::apply(r, P(c.op)); }, ErrorKind::OpNotApplicable));
        EXPECT_EQ(r.to_string(), c.doc);
        EXPECT_EQ(r.length(), count_code_points(c.doc));
        // The rope still works after the failed apply.
        text::apply(r, P(R"(["ok"])"));
        EXPECT_EQ(r.to_string(), std::string("ok") + c.doc);
    }
}

// Random text of code points of every UTF-8 length.
std::u32string RandomText(std::mt19937_64 &rng, std::size_t n) {
    static const char32_t alphabet[] = {U'a',      U'b',      U'c',          U' ',      U'\n',         U'\u00e9',
                                        U'\u0301', U'\u4e2d', U'\U0001F600', U'\u200d', U'\U0001F469', U'\U0010FFFF'};
    std::u32string s;
    for (std::size_t i = 0; i < n; ++i)
        s += alphabet[rng() % std::size(alphabet)];
    return s;
}

// A random valid op over a (possibly large) document: components spread over the whole text.
Op RandomOp(std::mt19937_64 &rng, const std::u32string &doc) {
    Op op;
    std::size_t pos = 0;
    const int steps = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < steps; ++i) {
        const unsigned k = rng() % 3;
        if (k == 0 && pos < doc.size()) {
            const std::size_t n = 1 + rng() % std::min<std::size_t>(doc.size() - pos, 1500);
            op.push_back(Component::skip(n));
            pos += n;
        } else if (k == 1 || pos >= doc.size()) {
            const std::u32string s = RandomText(rng, 1 + (rng() % 10 == 0 ? rng() % 3000 : rng() % 5));
            op.push_back(Component::insert(Utf8(s), s.size()));
        } else {
            const std::size_t n = 1 + rng() % std::min<std::size_t>(doc.size() - pos, rng() % 5 == 0 ? 2000 : 5);
            op.push_back(rng() % 2 ? Component::del_text(Utf8(doc.substr(pos, n)), n) : Component::del(n));
            pos += n;
        }
    }
    return normalize(op);
}

// Applies op to the code point model.
std::u32string ApplyModel(const std::u32string &doc, const Op &op) {
    std::u32string out;
    std::size_t pos = 0;
    for (const Component &c : op) {
        switch (c.kind) {
        case Component::Kind::Skip:
            out += doc.substr(pos, c.len);
            pos += c.len;
            break;
        case Component::Kind::Insert: {
            std::u32string ins;
            for (std::size_t k = 0; k < c.text.size();) {
                const auto lead = static_cast<unsigned char>(c.text[k]);
                const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
                char32_t cp = n == 1 ? lead : lead & (0x7F >> n);
                for (std::size_t j = 1; j < n; ++j)
                    cp = (cp << 6) | (static_cast<unsigned char>(c.text[k + j]) & 0x3F);
                ins += cp;
                k += n;
            }
            out += ins;
            break;
        }
        case Component::Kind::Delete:
            pos += c.len;
            break;
        }
    }
    return out + doc.substr(pos);
}

TEST(Apply, RopeAndStringAgreeOnLargeDocuments) {
    std::mt19937_64 rng(2024);
    std::u32string model = RandomText(rng, 8000);
    Rope rope(Utf8(model));
    ASSERT_GT(rope.chunk_count(), 10u);
    for (int i = 0; i < 400; ++i) {
        const Op op = RandomOp(rng, model);
        const std::string before = Utf8(model);
        const std::u32string next = ApplyModel(model, op);
        ASSERT_EQ(text::apply(before, op), Utf8(next)) << "op " << i;
        text::apply(rope, op);
        ASSERT_EQ(rope.length(), next.size()) << "op " << i;
        if (i % 20 == 0) {
            ASSERT_EQ(rope.to_string(), Utf8(next)) << "op " << i;
        }
        model = next;
        if (model.size() > 20000) { // keep the document bounded
            model.resize(20000);
            rope = Rope(Utf8(model));
        }
    }
    EXPECT_EQ(rope.to_string(), Utf8(model));
}

TEST(Apply, FailedRandomOpsLeaveLargeRopesUnchanged) {
    std::mt19937_64 rng(77);
    const std::u32string model = RandomText(rng, 6000);
    const std::string original = Utf8(model);
    Rope rope(original);
    for (int i = 0; i < 200; ++i) {
        Op op = RandomOp(rng, model);
        // Spoil the op at its end: push it past the end of the document, or make a text delete not match.
        std::uint64_t pre = 0;
        for (const Component &c : op)
            if (c.kind != Component::Kind::Insert) pre += c.len;
        const std::uint64_t left = model.size() - pre;
        switch (rng() % 3) {
        case 0:
            op.push_back(Component::skip(left + 1));
            op.push_back(Component::insert("x", 1));
            break;
        case 1:
            op.push_back(Component::insert("y", 1));
            op.push_back(Component::del(left + 1 + rng() % 3));
            break;
        default:
            if (left == 0) {
                op.push_back(Component::del_text("z", 1));
            } else {
                std::u32string wrong = model.substr(pre, std::min<std::uint64_t>(left, 3));
                wrong[0] = wrong[0] == U'a' ? U'b' : U'a';
                op.push_back(Component::insert("q", 1));
                op.push_back(Component::del_text(Utf8(wrong), wrong.size()));
            }
            break;
        }
        ASSERT_TRUE(ThrowsKind([&] { text::apply(rope, op); }, ErrorKind::OpNotApplicable)) << S(op);
        ASSERT_TRUE(ThrowsKind([&] { (void)text::apply(original, op); }, ErrorKind::OpNotApplicable)) << S(op);
        ASSERT_EQ(rope.length(), model.size());
    }
    EXPECT_EQ(rope.to_string(), original);
}

TEST(Apply, RopeReplaysTypingLikeAnEditor) {
    // Many small local ops, as in an editing trace: type, move back, delete, type more.
    Rope rope;
    std::u32string model;
    std::mt19937_64 rng(5);
    std::uint64_t cursor = 0;
    for (int i = 0; i < 20000; ++i) {
        Op op;
        if (cursor > 0) op.push_back(Component::skip(cursor));
        if (rng() % 5 == 0 && cursor > 0) {
            op.back().len -= 1; // backspace
            if (op.back().len == 0) op.pop_back();
            op.push_back(Component::del(1));
            model.erase(cursor - 1, 1);
            --cursor;
        } else {
            const char32_t c = rng() % 10 == 0 ? U'\U0001F600' : static_cast<char32_t>(U'a' + rng() % 26);
            op.push_back(Component::insert(Utf8(std::u32string(1, c)), 1));
            model.insert(cursor, 1, c);
            ++cursor;
        }
        if (rng() % 50 == 0) cursor = rng() % (model.size() + 1);
        text::apply(rope, normalize(op));
    }
    EXPECT_EQ(rope.to_string(), Utf8(model));
}

} // namespace
} // namespace collab::text
