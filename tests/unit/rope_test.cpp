// Unit tests of the chunked UTF-8 rope (extension/core/rope.hpp).

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "rope.hpp"
#include "test_support.hpp"
#include "text_unicode.hpp"

namespace collab::text {
namespace {

using collab::testing::Utf8;

// Code points of every UTF-8 length, so that chunk splits land inside multi-byte sequences if the rope gets it wrong.
const char32_t kAlphabet[] = {U'a',  U'b',  U' ',      U'\n',         U'é',          U'ß',          U'\u0301',
                              U'中', U'字', U'\u200d', U'\U0001F600', U'\U0001F308', U'\U00020000', U'\U0010FFFF'};

std::u32string RandomText(std::mt19937_64 &rng, std::size_t n, bool ascii_only) {
    std::u32string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (ascii_only) {
            s += static_cast<char32_t>(U'a' + rng() % 26);
        } else {
            s += kAlphabet[rng() % std::size(kAlphabet)];
        }
    }
    return s;
}

// Checks every observable of the rope against the model.
void ExpectSame(const Rope &rope, const std::u32string &model) {
    const std::string utf8 = Utf8(model);
    ASSERT_EQ(rope.length(), model.size());
    ASSERT_EQ(rope.byte_size(), utf8.size());
    ASSERT_EQ(rope.to_string(), utf8);
}

TEST(Rope, EmptyRope) {
    Rope r;
    EXPECT_EQ(r.length(), 0u);
    EXPECT_EQ(r.byte_size(), 0u);
    EXPECT_EQ(r.chunk_count(), 0u);
    EXPECT_EQ(r.to_string(), "");
    EXPECT_EQ(r.substr(0, 0), "");
    EXPECT_TRUE(r.equals_at(0, "", 0));
    EXPECT_FALSE(r.equals_at(0, "a", 1));
    Rope e("");
    EXPECT_EQ(e.length(), 0u);
    EXPECT_EQ(e.chunk_count(), 0u);
}

TEST(Rope, CountsCodePointsNotBytes) {
    // 1 + 2 + 3 + 4 bytes: a, e-acute, a CJK character and an emoji.
    Rope r("a\u00e9\u4e2d\U0001F600");
    EXPECT_EQ(r.length(), 4u);
    EXPECT_EQ(r.byte_size(), 10u);
    EXPECT_EQ(r.substr(0, 1), "a");
    EXPECT_EQ(r.substr(1, 1), "\u00e9");
    EXPECT_EQ(r.substr(2, 1), "\u4e2d");
    EXPECT_EQ(r.substr(3, 1), "\U0001F600");
    EXPECT_EQ(r.substr(1, 3), "\u00e9\u4e2d\U0001F600");
    EXPECT_TRUE(r.equals_at(3, "\U0001F600", 1));
    EXPECT_FALSE(r.equals_at(3, "\U0001F601", 1));
    EXPECT_FALSE(r.equals_at(3, "\U0001F600x", 2)); // runs past the end
}

TEST(Rope, InsertAtStartMiddleEnd) {
    Rope r("held");
    r.insert(2, "llo wor", 7);
    EXPECT_EQ(r.to_string(), "hello world");
    r.insert(0, ">> ", 3);
    r.insert(r.length(), "!", 1);
    EXPECT_EQ(r.to_string(), ">> hello world!");
    EXPECT_EQ(r.length(), 15u);
    r.insert(5, "", 0); // inserting nothing changes nothing
    EXPECT_EQ(r.to_string(), ">> hello world!");
}

TEST(Rope, InsertIntoEmptyRope) {
    Rope r;
    r.insert(0, "\U0001F600x", 2);
    EXPECT_EQ(r.to_string(), "\U0001F600x");
    EXPECT_EQ(r.length(), 2u);
    EXPECT_EQ(r.byte_size(), 5u);
    EXPECT_EQ(r.chunk_count(), 1u);
}

TEST(Rope, EraseEverythingAndRefill) {
    Rope r("abc\U0001F600");
    r.erase(0, 4);
    EXPECT_EQ(r.length(), 0u);
    EXPECT_EQ(r.byte_size(), 0u);
    EXPECT_EQ(r.to_string(), "");
    r.insert(0, "z", 1);
    EXPECT_EQ(r.to_string(), "z");
    r.erase(0, 0);
    EXPECT_EQ(r.to_string(), "z");
}

TEST(Rope, LargeTextIsSplitIntoBoundedChunks) {
    std::mt19937_64 rng(7);
    const std::u32string model = RandomText(rng, 20000, false);
    const std::string utf8 = Utf8(model);
    Rope r(utf8);
    ExpectSame(r, model);
    EXPECT_GE(r.chunk_count(), utf8.size() / Rope::kMaxChunkBytes);
    EXPECT_GT(r.chunk_count(), 1u);
    // Every code point is reachable on its own; a chunk that split a UTF-8 sequence would break this.
    for (std::size_t i = 0; i < model.size(); i += 37)
        ASSERT_EQ(r.substr(i, 1), Utf8(model.substr(i, 1))) << "at " << i;
}

TEST(Rope, LargeInsertSplitsIntoManyChunks) {
    std::mt19937_64 rng(11);
    const std::u32string head = RandomText(rng, 100, false);
    const std::u32string big = RandomText(rng, 50000, false);
    Rope r(Utf8(head));
    EXPECT_EQ(r.chunk_count(), 1u);
    const std::string big_utf8 = Utf8(big);
    r.insert(50, big_utf8, big.size());
    std::u32string model = head;
    model.insert(50, big);
    ExpectSame(r, model);
    EXPECT_GE(r.chunk_count(), big_utf8.size() / Rope::kMaxChunkBytes);
    // Edits after the split still land in the right place.
    r.insert(40000, "#", 1);
    model.insert(40000, U"#");
    r.erase(10, 30000);
    model.erase(10, 30000);
    ExpectSame(r, model);
}

TEST(Rope, AsciiEditsAcrossChunkBoundaries) {
    std::string text;
    for (int i = 0; i < 5000; ++i)
        text += static_cast<char>('a' + i % 26);
    Rope r(text);
    ASSERT_GT(r.chunk_count(), 4u);
    // A range that certainly spans several chunks.
    EXPECT_EQ(r.substr(100, 3000), text.substr(100, 3000));
    EXPECT_TRUE(r.equals_at(1000, text.substr(1000, 1200), 1200));
    std::string other = text.substr(1000, 1200);
    other[1100] = '!';
    EXPECT_FALSE(r.equals_at(1000, other, 1200));
    r.erase(400, 3000);
    text.erase(400, 3000);
    EXPECT_EQ(r.to_string(), text);
    EXPECT_EQ(r.length(), text.size());
    r.insert(400, "XYZ", 3);
    text.insert(400, "XYZ");
    EXPECT_EQ(r.to_string(), text);
    EXPECT_EQ(r.substr(398, 7), text.substr(398, 7));
}

TEST(Rope, MultiByteEditsAcrossChunkBoundaries) {
    // 3000 two-byte code points, then 3000 four-byte ones: chunk ends never fall on a code point boundary by accident.
    std::u32string model(3000, U'\u00e9');
    model += std::u32string(3000, U'\U0001F600');
    Rope r(Utf8(model));
    ASSERT_GT(r.chunk_count(), 4u);
    EXPECT_EQ(r.substr(2990, 20), Utf8(model.substr(2990, 20)));
    EXPECT_TRUE(r.equals_at(2500, Utf8(model.substr(2500, 1000)), 1000));
    r.erase(2000, 2000);
    model.erase(2000, 2000);
    ExpectSame(r, model);
    r.insert(2000, "\u4e2d\u4e2d", 2);
    model.insert(2000, U"\u4e2d\u4e2d");
    ExpectSame(r, model);
    EXPECT_EQ(r.substr(1999, 4), Utf8(model.substr(1999, 4)));
}

TEST(Rope, CopiesAreIndependent) {
    Rope a("hello \U0001F600");
    Rope b = a;
    b.insert(0, "x", 1);
    a.erase(0, 1);
    EXPECT_EQ(a.to_string(), "ello \U0001F600");
    EXPECT_EQ(b.to_string(), "xhello \U0001F600");
}

// Random edits against a std::u32string model: typing-like local edits and random jumps, ASCII-only phases (the
// rope's fast path) and mixed phases, small and large inserts and deletes.
void RandomEdits(std::uint64_t seed, bool ascii_only) {
    std::mt19937_64 rng(seed);
    std::u32string model = RandomText(rng, rng() % 3000, ascii_only);
    Rope rope(Utf8(model));
    std::uint64_t cursor = 0;
    for (int step = 0; step < 6000; ++step) {
        if (rng() % 4 == 0) cursor = model.empty() ? 0 : rng() % (model.size() + 1); // jump
        cursor = std::min<std::uint64_t>(cursor, model.size());
        const unsigned what = rng() % 100;
        if (what < 55 || model.empty()) {
            const std::size_t n = rng() % 50 == 0 ? 1 + rng() % 3000 : 1 + rng() % 6;
            const std::u32string ins = RandomText(rng, n, ascii_only);
            rope.insert(cursor, Utf8(ins), ins.size());
            model.insert(cursor, ins);
            cursor += ins.size();
        } else if (what < 95) {
            const std::uint64_t avail = model.size() - cursor;
            if (avail == 0) continue;
            const std::uint64_t n = std::min<std::uint64_t>(avail, rng() % 40 == 0 ? 1 + rng() % 4000 : 1 + rng() % 5);
            rope.erase(cursor, n);
            model.erase(cursor, n);
        } else {
            const std::uint64_t pos = rng() % (model.size() + 1);
            const std::uint64_t len = rng() % (model.size() - pos + 1);
            const std::string want = Utf8(model.substr(pos, len));
            ASSERT_EQ(rope.substr(pos, len), want) << "step " << step;
            ASSERT_TRUE(rope.equals_at(pos, want, len)) << "step " << step;
            if (len > 0) {
                std::u32string wrong = model.substr(pos, len);
                wrong[rng() % len] = U'\U0001F9E8'; // not in the alphabet
                ASSERT_FALSE(rope.equals_at(pos, Utf8(wrong), len)) << "step " << step;
            }
        }
        ASSERT_EQ(rope.length(), model.size()) << "step " << step;
        if (step % 500 == 0) {
            ExpectSame(rope, model);
            if (::testing::Test::HasFatalFailure()) return;
        }
    }
    ExpectSame(rope, model);
}

TEST(Rope, RandomEditsMixedText) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        RandomEdits(seed, false);
        if (HasFatalFailure()) return;
    }
}

TEST(Rope, RandomEditsAsciiText) {
    for (std::uint64_t seed = 100; seed <= 102; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        RandomEdits(seed, true);
        if (HasFatalFailure()) return;
    }
}

TEST(Rope, TypingForwardAndBackspacing) {
    // The shape of a real editing trace: a long run of appends, then backspaces, with the cursor moving back.
    Rope r;
    std::u32string model;
    for (int i = 0; i < 20000; ++i) {
        const char32_t c = (i % 7 == 0) ? U'\U0001F600' : static_cast<char32_t>(U'a' + i % 26);
        r.insert(model.size(), Utf8(std::u32string(1, c)), 1);
        model += c;
    }
    for (int i = 0; i < 5000; ++i) {
        const std::uint64_t pos = model.size() - 1 - static_cast<std::uint64_t>(i % 3);
        r.erase(pos, 1);
        model.erase(pos, 1);
    }
    ExpectSame(r, model);
}

TEST(CodePoints, CountCodePoints) {
    EXPECT_EQ(count_code_points(""), 0u);
    EXPECT_EQ(count_code_points("abc"), 3u);
    EXPECT_EQ(count_code_points("\u00e9\u4e2d\U0001F600"), 3u);
    // A ZWJ sequence is several code points: man, ZWJ, woman, ZWJ, girl.
    EXPECT_EQ(count_code_points("\U0001F468\u200d\U0001F469\u200d\U0001F467"), 5u);
    // A base letter and a combining mark are two.
    EXPECT_EQ(count_code_points("e\u0301"), 2u);
}

} // namespace
} // namespace collab::text
