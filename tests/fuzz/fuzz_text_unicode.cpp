// libFuzzer target: the text-unicode type of the OT core (extension/core/text_unicode.*).
//
// Input, two modes:
//   JSON lines  "<doc>\n<op a JSON>\n<op b JSON>": the document is the first line's raw bytes (validated as UTF-8),
//               the ops are parsed strictly (collab::text::parse_op) after a jansson parse of each line.
//   generator   a first byte 'G': the rest drives FuzzedDataProvider to build a document and two ops that apply to it
//               (so the properties below are exercised on every input, not only on the rare hand-written fit).
// Checks (any other exception than collab::OtError, any crash or UB report is a finding):
//   - to_json / parse_op round trip; normalize(a) applies like a; parse_op_lenient accepts what parse_op accepts;
//   - apply on a std::string and on a Rope agree (result or both throw; the rope unchanged on error);
//   - when a and b both apply to doc and are in normal form, TP1: apply(apply(d,a), transform(b,a,left)) ==
//   apply(apply(d,b),
//     transform(a,b,right)) and the mirrored side assignment;
//   - compose: when b applies to apply(d,a), apply(d, compose(a,b)) == apply(apply(d,a), b);
//   - invert (when a's deletes carry their text): apply(apply(d,a), invert(a)) == d;
//   - transform_position never crashes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "rope.hpp"
#include "text_unicode.hpp"

namespace text = collab::text;
using collab::OtError;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
    std::fprintf(stderr, "fuzz_text_unicode: %s\n%s\n", what, detail.c_str());
    std::abort();
}

std::string dump(const text::Op &op) { return collab::json_dump(text::to_json(op).get()); }

std::optional<std::string> try_apply(std::string_view doc, const text::Op &op) {
    try {
        return text::apply(doc, op);
    } catch (const OtError &) {
        return std::nullopt;
    }
}

// Applies on a rope too and checks it agrees with the string apply (and is atomic on error).
std::optional<std::string> apply_both(const std::string &doc, const text::Op &op) {
    std::optional<std::string> s = try_apply(doc, op);
    text::Rope rope(doc);
    bool ok = true;
    try {
        text::apply(rope, op);
    } catch (const OtError &) {
        ok = false;
    }
    const std::string r = rope.to_string();
    if (ok != s.has_value()) fail("rope and string apply disagree on failure", doc + "\n" + dump(op));
    if (ok && r != *s) fail("rope and string apply differ", doc + "\n" + dump(op));
    if (!ok && r != doc) fail("rope apply is not atomic", doc + "\n" + dump(op));
    return s;
}

std::optional<text::Op> parse_line(std::string_view line) {
    try {
        collab::JsonPtr j = collab::json_parse(line, collab::ErrorKind::OpBadlyFormed, "op");
        try {
            text::Op lenient = text::parse_op_lenient(j.get());
            (void)text::normalize(lenient);
        } catch (const OtError &) {
        }
        return text::parse_op(j.get());
    } catch (const OtError &) {
        return std::nullopt;
    }
}

// A random string of code points from a small alphabet with multi-byte, astral and combining characters.
std::string random_text(FuzzedDataProvider &p, std::size_t max_cps, std::uint64_t &cps) {
    static const char *const kPieces[] = {"a", "b",  "c", " ", "\n",        "é",
                                          "ω", "中", "😀", "𝄞", "e\xCC\x81", "\xF4\x8F\xBF\xBF"};
    std::string s;
    cps = 0;
    const std::size_t n = p.ConsumeIntegralInRange<std::size_t>(1, max_cps);
    for (std::size_t i = 0; i < n; i++) {
        const char *piece = kPieces[p.ConsumeIntegralInRange<std::size_t>(0, std::size(kPieces) - 1)];
        s += piece;
        cps += text::count_code_points(piece);
    }
    return s;
}

// Slices code points [from, from + n) of a valid UTF-8 string.
std::string slice_cps(const std::string &s, std::uint64_t from, std::uint64_t n) {
    std::size_t i = 0;
    auto advance = [&](std::uint64_t k) {
        while (k > 0 && i < s.size()) {
            i++;
            while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
                i++;
            k--;
        }
    };
    advance(from);
    const std::size_t b = i;
    advance(n);
    return s.substr(b, i - b);
}

// An op that applies to doc (len code points), built by the provider; normalized (strict-valid).
text::Op random_op(FuzzedDataProvider &p, const std::string &doc, std::uint64_t len) {
    text::Op op;
    std::uint64_t pos = 0;
    const int parts = p.ConsumeIntegralInRange<int>(1, 4);
    for (int k = 0; k < parts && p.remaining_bytes() > 0; k++) {
        const std::uint64_t skip = p.ConsumeIntegralInRange<std::uint64_t>(0, len - pos);
        if (skip > 0) op.push_back(text::Component::skip(skip));
        pos += skip;
        switch (p.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: {
            std::uint64_t cps = 0;
            std::string t = random_text(p, 6, cps);
            op.push_back(text::Component::insert(std::move(t), cps));
            break;
        }
        case 1:
        case 2:
            if (pos < len) {
                const std::uint64_t n = p.ConsumeIntegralInRange<std::uint64_t>(1, len - pos);
                if (p.ConsumeBool())
                    op.push_back(text::Component::del_text(slice_cps(doc, pos, n), n));
                else
                    op.push_back(text::Component::del(n));
                pos += n;
            }
            break;
        }
    }
    return text::normalize(op);
}

void check(const std::string &doc, const text::Op &a, const text::Op &b) {
    // Round trip through JSON.
    for (const text::Op *op : {&a, &b}) {
        collab::JsonPtr j = text::to_json(*op);
        if (!(text::parse_op(j.get()) == *op)) fail("to_json / parse_op round trip differs", dump(*op));
        (void)text::transform_position(0, *op);
        (void)text::transform_position(7, *op);
        (void)text::transform_position(INT64_MAX / 2, *op);
    }
    const std::optional<std::string> da = apply_both(doc, a);
    const std::optional<std::string> db = apply_both(doc, b);
    if (da) {
        const std::optional<std::string> dn = try_apply(doc, text::normalize(a));
        if (!dn || *dn != *da) fail("normalize(a) does not apply like a", doc + "\n" + dump(a));
    }
    // Transform both ways, both sides (never an exception on two valid ops).
    text::Op ba_l = text::transform(b, a, collab::Side::Left), ab_r = text::transform(a, b, collab::Side::Right);
    text::Op ba_r = text::transform(b, a, collab::Side::Right), ab_l = text::transform(a, b, collab::Side::Left);
    // TP1 only for ops in normal form: npm ot-text-unicode itself does not converge for some ops with adjacent
    // inserts (corpus/fuzz_text_unicode/ref-tp1-unnormalized.txt), which its checkOp accepts.
    if (da && db && text::normalize(a) == a && text::normalize(b) == b) {
        for (auto [x, y] : {std::pair{&ba_l, &ab_r}, std::pair{&ba_r, &ab_l}}) {
            std::optional<std::string> l = apply_both(*da, *x);
            std::optional<std::string> r = apply_both(*db, *y);
            if (!l || !r || *l != *r)
                fail("TP1 does not hold", doc + "\na=" + dump(a) + "\nb=" + dump(b) + "\nb'=" + dump(*x) + "\na'=" +
                                              dump(*y) + "\n" + (l ? *l : "<fail>") + "\n" + (r ? *r : "<fail>"));
        }
    }
    // Compose (a then b, when b applies after a).
    text::Op ab = text::compose(a, b);
    if (da) {
        if (std::optional<std::string> seq = try_apply(*da, b)) {
            std::optional<std::string> c = try_apply(doc, ab);
            if (!c || *c != *seq)
                fail("compose(a, b) does not apply like a then b",
                     doc + "\na=" + dump(a) + "\nb=" + dump(b) + "\nab=" + dump(ab));
        }
        try {
            text::Op inv = text::invert(a);
            std::optional<std::string> back = try_apply(*da, inv);
            if (!back || *back != doc) fail("invert(a) does not undo a", doc + "\na=" + dump(a));
        } catch (const OtError &) {
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    try {
        if (size > 0 && data[0] == 'G') {
            FuzzedDataProvider p(data + 1, size - 1);
            std::uint64_t len = 0;
            std::string doc = p.ConsumeBool() ? std::string() : random_text(p, 12, len);
            text::Op a = random_op(p, doc, len);
            text::Op b = random_op(p, doc, len);
            check(doc, a, b);
            return 0;
        }
        std::string_view in(reinterpret_cast<const char *>(data), size);
        std::vector<std::string_view> lines;
        while (lines.size() < 2) {
            const std::size_t nl = in.find('\n');
            if (nl == std::string_view::npos) break;
            lines.push_back(in.substr(0, nl));
            in.remove_prefix(nl + 1);
        }
        lines.push_back(in);
        const std::string doc(lines[0]);
        try {
            text::validate_utf8(doc, "document");
        } catch (const OtError &) {
            return 0;
        }
        std::optional<text::Op> a = lines.size() > 1 ? parse_line(lines[1]) : std::nullopt;
        std::optional<text::Op> b = lines.size() > 2 ? parse_line(lines[2]) : std::nullopt;
        if (a && b)
            check(doc, *a, *b);
        else if (a)
            check(doc, *a, text::Op{});
    } catch (const OtError &) {
        // An error of the core's own kind is a correct outcome for a bad input.
    }
    return 0;
}
