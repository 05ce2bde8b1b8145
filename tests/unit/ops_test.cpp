// Unit tests of the text-unicode functions normalize, transform, compose, transform_position and invert. Expected
// values follow the npm ot-text-unicode 4.0.0 algorithm (and were checked against it).

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "test_support.hpp"
#include "text_unicode.hpp"

namespace collab::text {
namespace {

using collab::testing::J;
using collab::testing::P;
using collab::testing::S;
using collab::testing::ThrowsKind;

std::string Normalize(const char *json) { return S(normalize(parse_op_lenient(J(json).get()))); }

// ---------------------------------------------------------------------------------------------------------------
// normalize

struct NormalizeCase {
    const char *op;
    const char *want;
};

const NormalizeCase kNormalizeCases[] = {
    {"[]", "[]"},
    {R"([0, "", {"d": 0}, {"d": ""}])", "[]"},          // empty components vanish
    {"[5]", "[]"},                                      // a lone skip is a trailing skip
    {R"(["a", 5])", R"(["a"])"},                        // trailing skip stripped
    {R"(["a", 1, "", 2])", R"(["a"])"},                 // skips merge across an empty insert, then trimmed
    {R"([1, 2, "a"])", R"([3,"a"])"},                   // adjacent skips merge
    {R"([1, 0, 1, "x", 0, 3])", R"([2,"x"])"},          // zero skips vanish
    {R"(["a", "b", "\u00e9"])", R"(["abé"])"},          // adjacent inserts concatenate
    {R"([{"d": "a"}, {"d": "b"}])", R"([{"d":"ab"}])"}, // text deletes concatenate (invert info kept)
    {R"([{"d": "a"}, {"d": 2}])", R"([{"d":3}])"},      // mixed deletes become numeric
    {R"([{"d": 1}, {"d": "😀"}])", R"([{"d":2}])"},      // lengths in code points
    {R"([{"d": 1}, {"d": 2}])", R"([{"d":3}])"},
    {R"([2, "", 3, {"d": ""}, {"d": 1}])", R"([5,{"d":1}])"},
    {R"(["a", {"d": 0}, "b"])", R"(["ab"])"}, // an empty delete between inserts disappears
    {R"([{"d": "x"}, "", {"d": "y"}, 0])", R"([{"d":"xy"}])"},
    {R"([3, "hi", 5, {"d": 8}])", R"([3,"hi",5,{"d":8}])"},       // already normalized: unchanged
    {R"([{"d": 1}, "a", {"d": 1}])", R"([{"d":1},"a",{"d":1}])"}, // kinds differ: nothing merges
};

TEST(Normalize, Cases) {
    for (const auto &c : kNormalizeCases)
        EXPECT_EQ(Normalize(c.op), c.want) << "normalize(" << c.op << ")";
}

TEST(Normalize, ResultIsAValidOp) {
    for (const auto &c : kNormalizeCases)
        EXPECT_NO_THROW((void)P(Normalize(c.op))) << c.op;
}

TEST(Normalize, IsIdempotent) {
    for (const auto &c : kNormalizeCases)
        EXPECT_EQ(S(normalize(P(c.want))), c.want);
}

// ---------------------------------------------------------------------------------------------------------------
// transform

struct TransformCase {
    const char *what;
    const char *op;
    const char *other;
    const char *left;  // transform(op, other, 'left')
    const char *right; // transform(op, other, 'right')
};

const TransformCase kTransformCases[] = {
    {"inserts at the same position: left goes first", R"(["a"])", R"(["b"])", R"(["a"])", R"([1,"a"])"},
    {"tie after a skip", R"([2, "a"])", R"([2, "bb"])", R"([2,"a"])", R"([4,"a"])"},
    {"tie with an astral insert (one code point)", R"(["x"])", R"(["😀"])", R"(["x"])", R"([1,"x"])"},
    {"insert before the other's insert", R"([1, "a"])", R"([3, "b"])", R"([1,"a"])", R"([1,"a"])"},
    {"insert after the other's insert", R"([5, "a"])", R"([1, "bb"])", R"([7,"a"])", R"([7,"a"])"},
    {"astral text shifts by code points", R"([2, "x"])", R"(["😀👍🏽"])", R"([5,"x"])", R"([5,"x"])"},
    {"insert inside the other's delete survives at its start", R"([2, "x"])", R"([1, {"d": 3}])", R"([1,"x"])",
     R"([1,"x"])"},
    {"insert at the start of the other's delete", R"([1, "x"])", R"([1, {"d": 3}])", R"([1,"x"])", R"([1,"x"])"},
    {"insert right after the other's delete", R"([4, "x"])", R"([1, {"d": 3}])", R"([1,"x"])", R"([1,"x"])"},
    {"deletes overlapping on the right", R"([1, {"d": 3}])", R"([2, {"d": 3}])", R"([1,{"d":1}])", R"([1,{"d":1}])"},
    {"deletes overlapping on the left", R"([2, {"d": 3}])", R"([1, {"d": 3}])", R"([1,{"d":1}])", R"([1,{"d":1}])"},
    {"identical deletes cancel", R"([1, {"d": 2}])", R"([1, {"d": 2}])", "[]", "[]"},
    {"delete contained in the other's delete", R"([2, {"d": 1}])", R"([1, {"d": 4}])", "[]", "[]"},
    {"delete containing the other's delete keeps its text around it", R"([{"d": "abcd"}])", R"([1, {"d": "bc"}])",
     R"([{"d":"ad"}])", R"([{"d":"ad"}])"},
    {"the other inserts inside my delete: it splits", R"([1, {"d": 3}])", R"([2, "xy"])", R"([1,{"d":1},2,{"d":2}])",
     R"([1,{"d":1},2,{"d":2}])"},
    {"the other inserts inside my text delete", R"([{"d": "a😀c"}])", R"([2, "Z"])", R"([{"d":"a😀"},1,{"d":"c"}])",
     R"([{"d":"a😀"},1,{"d":"c"}])"},
    {"my insert next to my delete, the other inserts there", R"([1, "x", {"d": 1}])", R"([1, "y"])",
     R"([1,"x",1,{"d":1}])", R"([2,"x",{"d":1}])"},
    {"the other's delete is before me", R"([5, "x"])", R"([{"d": 2}])", R"([3,"x"])", R"([3,"x"])"},
    {"the other deletes what I skip, my delete follows", R"([2, {"d": 1}, "q"])", R"([{"d": 2}])", R"([{"d":1},"q"])",
     R"([{"d":1},"q"])"},
    {"against a no-op", R"([3, "x", {"d": 2}])", "[]", R"([3,"x",{"d":2}])", R"([3,"x",{"d":2}])"},
    {"a no-op stays a no-op", "[]", R"([1, "abc", {"d": 2}])", "[]", "[]"},
    {"several inserts meet at one position", R"(["a", 2, "b"])", R"(["c", 2, "d"])", R"(["a",3,"b"])",
     R"([1,"a",3,"b"])"},
    {"combining mark inserts count one code point each", R"([1, "e\u0301"])", R"(["\u0301\u0301"])", "[3,\"e\u0301\"]",
     "[3,\"e\u0301\"]"},
};

TEST(Transform, Cases) {
    for (const auto &c : kTransformCases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(S(transform(P(c.op), P(c.other), Side::Left)), c.left) << c.op << " by " << c.other;
        EXPECT_EQ(S(transform(P(c.op), P(c.other), Side::Right)), c.right) << c.op << " by " << c.other;
    }
}

TEST(Transform, ResultsAreNormalized) {
    for (const auto &c : kTransformCases) {
        for (Side side : {Side::Left, Side::Right}) {
            const Op t = transform(P(c.op), P(c.other), side);
            EXPECT_EQ(normalize(t), t) << c.what;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// compose

struct ComposeCase {
    const char *what;
    const char *a;
    const char *b;
    const char *want;
};

const ComposeCase kComposeCases[] = {
    {"insert before an insert", R"(["a"])", R"(["b"])", R"(["ba"])"},
    {"insert after an insert", R"(["a"])", R"([1, "b"])", R"(["ab"])"},
    {"delete part of an insert", R"(["abc"])", R"([1, {"d": 1}])", R"(["ac"])"},
    {"delete all of an insert", R"([2, "abc"])", R"([2, {"d": "abc"}])", "[]"},
    {"delete an astral insert by count", R"(["😀a"])", R"([{"d": 1}])", R"(["a"])"},
    {"delete past an insert into the document", R"(["xy"])", R"([{"d": "xyz"}])", R"([{"d":"z"}])"},
    {"numeric delete past an insert", R"(["xy"])", R"([{"d": 3}])", R"([{"d":1}])"},
    {"deletes pass through a skip", R"([{"d": 2}, "a"])", R"([1, "b"])", R"([{"d":2},"ab"])"},
    {"insert then an earlier delete", R"([{"d": "x"}])", R"(["y"])", R"(["y",{"d":"x"}])"},
    {"deletes concatenate", R"([{"d": "ab"}])", R"([{"d": "cd"}])", R"([{"d":"abcd"}])"},
    {"text and numeric deletes become numeric", R"([{"d": "ab"}])", R"([{"d": 2}])", R"([{"d":4}])"},
    {"a text delete over skipped text keeps its text", R"([2, "x"])", R"([{"d": "ab"}])", R"([{"d":"ab"},"x"])"},
    {"a text delete split by an insert of a", R"([1, "Z"])", R"([{"d": "aZb"}])", R"([{"d":"ab"}])"},
    {"b deletes around a's delete", R"([1, {"d": "m"}])", R"([{"d": "ab"}])", R"([{"d":"amb"}])"},
    {"b skips beyond a", R"(["a"])", R"([5, "b"])", R"(["a",4,"b"])"},
    {"with no-ops", "[]", R"([1, "x"])", R"([1,"x"])"},
    {"with no-ops on the right", R"([1, {"d": 2}])", "[]", R"([1,{"d":2}])"},
    {"insert and delete cancel to a no-op", R"([3, "hello"])", R"([3, {"d": 5}])", "[]"},
    {"typing a word", R"([5, "h"])", R"([6, "i"])", R"([5,"hi"])"},
    {"backspacing", R"([5, {"d": "o"}])", R"([4, {"d": "l"}])", R"([4,{"d":"lo"}])"},
};

TEST(Compose, Cases) {
    for (const auto &c : kComposeCases) {
        SCOPED_TRACE(c.what);
        EXPECT_EQ(S(compose(P(c.a), P(c.b))), c.want) << "compose(" << c.a << ", " << c.b << ")";
    }
}

TEST(Compose, EqualsApplyingBothInTurn) {
    const std::string doc = "abcdefghijklmnop";
    for (const auto &c : kComposeCases) {
        SCOPED_TRACE(c.what);
        const Op a = P(c.a), b = P(c.b);
        // Text deletes only fit where they match, so compare on the documents where both applies succeed.
        std::string two_steps;
        try {
            two_steps = text::apply(text::apply(doc, a), b);
        } catch (const OtError &) {
            continue;
        }
        EXPECT_EQ(text::apply(doc, compose(a, b)), two_steps);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// transform_position

struct PositionCase {
    std::int64_t cursor;
    const char *op;
    std::int64_t want;
};

const PositionCase kPositionCases[] = {
    {0, R"(["abc"])", 0},  // an insert at the cursor does not move it
    {1, R"(["abc"])", 4},  // an insert before the cursor moves it
    {1, R"(["😀"])", 2},    // by code points
    {2, R"([2, "x"])", 2}, // insert exactly at the cursor
    {3, R"([2, "x"])", 4},
    {5, R"([1, {"d": 2}])", 3}, // a delete before the cursor
    {2, R"([1, {"d": 3}])", 1}, // the cursor inside a deleted range moves to its start
    {4, R"([1, {"d": 3}])", 1}, // the cursor right after the deleted range
    {1, R"([1, {"d": 3}])", 1}, // the cursor at the start of the deleted range
    {0, R"([{"d": 3}])", 0},
    {3, R"([{"d": "a😀c"}])", 0},
    {10, R"([1, "x"])", 11}, // beyond the op's reach: later text moves with the insert
    {10, R"([1, {"d": 2}, "xyz", 3, "q"])", 12},
    {4, R"([1, {"d": 2}, "xyz", 3, "q"])", 5},
    {0, "[]", 0},
    {7, "[]", 7},
};

TEST(TransformPosition, Cases) {
    for (const auto &c : kPositionCases)
        EXPECT_EQ(transform_position(c.cursor, P(c.op)), c.want)
            << "transformPosition(" << c.cursor << ", " << c.op << ")";
}

// ---------------------------------------------------------------------------------------------------------------
// invert

TEST(Invert, SwapsInsertsAndTextDeletes) {
    EXPECT_EQ(S(invert(P(R"([1, "ab", {"d": "c"}])"))), R"([1,{"d":"ab"},"c"])");
    EXPECT_EQ(S(invert(P(R"(["😀"])"))), R"([{"d":"😀"}])");
    EXPECT_EQ(S(invert(P(R"([2, {"d": "x"}, 3, "y"])"))), R"([2,"x",3,{"d":"y"}])");
    EXPECT_EQ(S(invert(P("[]"))), "[]");
    // Adjacent components of one kind after the swap merge, as npm's mapOp does.
    EXPECT_EQ(S(invert(P(R"(["a", {"d": "b"}, "c"])"))), R"([{"d":"a"},"b",{"d":"c"}])");
}

TEST(Invert, NumericDeletesCannotBeInverted) {
    EXPECT_TRUE(ThrowsKind([] { (void)invert(P(R"([1, {"d": 2}])")); }, ErrorKind::Unsupported));
    EXPECT_TRUE(ThrowsKind([] { (void)invert(P(R"(["a", {"d": "b"}, 1, {"d": 1}])")); }, ErrorKind::Unsupported));
}

TEST(Invert, UndoesApply) {
    const std::string doc = "h\u00e9llo w\U0001F600rld";
    const char *ops[] = {
        R"([1, {"d": "é"}, "e"])",
        R"([{"d": "hé"}, 4, "🎉", 1, {"d": "😀r"}])",
        R"(["start ", 11, " end"])",
        R"([{"d": "héllo w😀rld"}])",
    };
    for (const char *json : ops) {
        const Op op = P(json);
        EXPECT_EQ(text::apply(text::apply(doc, op), invert(op)), doc) << json;
        EXPECT_EQ(invert(invert(op)), op) << json;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Properties on random ops (small documents, so that ties and overlaps are common).

std::u32string RandomText(std::mt19937_64 &rng, std::size_t n) {
    static const char32_t alphabet[] = {U'a',      U'b',          U'c',      U'\u00e9',    U'\u0301',
                                        U'\u4e2d', U'\U0001F600', U'\u200d', U'\U0001F469'};
    std::u32string s;
    for (std::size_t i = 0; i < n; ++i)
        s += alphabet[rng() % std::size(alphabet)];
    return s;
}

// A random valid op on doc; deletes carry their text when with_text.
Op RandomOp(std::mt19937_64 &rng, const std::u32string &doc, bool with_text) {
    Op op;
    std::size_t pos = 0;
    const int steps = static_cast<int>(rng() % 5);
    for (int i = 0; i < steps; ++i) {
        const unsigned k = rng() % 3;
        if (k == 0 && pos < doc.size()) {
            const std::size_t n = 1 + rng() % (doc.size() - pos);
            op.push_back(Component::skip(n));
            pos += n;
        } else if (k == 1 || pos >= doc.size()) {
            const std::u32string s = RandomText(rng, 1 + rng() % 3);
            op.push_back(Component::insert(collab::testing::Utf8(s), s.size()));
        } else {
            const std::size_t n = 1 + rng() % std::min<std::size_t>(doc.size() - pos, 4);
            op.push_back(with_text ? Component::del_text(collab::testing::Utf8(doc.substr(pos, n)), n)
                                   : Component::del(n));
            pos += n;
        }
    }
    return normalize(op);
}

TEST(Properties, ConvergenceTP1) {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 3000; ++i) {
        const std::u32string doc32 = RandomText(rng, rng() % 10);
        const std::string doc = collab::testing::Utf8(doc32);
        const Op a = RandomOp(rng, doc32, rng() % 2);
        const Op b = RandomOp(rng, doc32, rng() % 2);
        const std::string left = text::apply(text::apply(doc, a), transform(b, a, Side::Right));
        const std::string right = text::apply(text::apply(doc, b), transform(a, b, Side::Left));
        ASSERT_EQ(left, right) << "doc " << doc << " a " << S(a) << " b " << S(b);
    }
}

TEST(Properties, ComposeMatchesSequentialApply) {
    std::mt19937_64 rng(43);
    for (int i = 0; i < 3000; ++i) {
        const std::u32string doc32 = RandomText(rng, rng() % 10);
        const std::string doc = collab::testing::Utf8(doc32);
        const Op a = RandomOp(rng, doc32, rng() % 2);
        const std::string mid = text::apply(doc, a);
        std::u32string mid32;
        // Decode mid through the rope to get its code points: reuse the generator on a code point copy.
        {
            std::size_t k = 0;
            while (k < mid.size()) {
                const auto lead = static_cast<unsigned char>(mid[k]);
                const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
                char32_t cp = n == 1 ? lead : lead & (0x7F >> n);
                for (std::size_t j = 1; j < n; ++j)
                    cp = (cp << 6) | (static_cast<unsigned char>(mid[k + j]) & 0x3F);
                mid32 += cp;
                k += n;
            }
        }
        const Op b = RandomOp(rng, mid32, rng() % 2);
        const Op ab = compose(a, b);
        ASSERT_EQ(text::apply(doc, ab), text::apply(mid, b)) << "doc " << doc << " a " << S(a) << " b " << S(b);
        ASSERT_EQ(normalize(ab), ab);
    }
}

} // namespace
} // namespace collab::text
