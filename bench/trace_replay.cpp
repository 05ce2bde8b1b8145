// trace-replay: replays an editing trace through the text-unicode core (text::apply on a Rope) and checks the result.
//
// The trace is an uncompressed JSON file {startContent, endContent, txns:[{time, patches:[[pos, del, ins], ...]}]}
// (see shared/traces/SOURCES.md); positions and lengths count code points. Each patch becomes one text-unicode op
// [pos, ins, {d: del}] (parsed and converted before timing starts). Only the applies are timed.

#include <jansson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "rope.hpp"
#include "text_unicode.hpp"

namespace {

namespace text = collab::text;

const char kUsage[] = R"(usage: trace-replay [--check | --repeat N] TRACE.json

Replays an editing trace (uncompressed JSON: {startContent, endContent, txns:[{patches:[[pos, del, ins], ...]}]})
through the text-unicode core, one op per patch, and fails (exit status 1) unless the final text equals endContent.

  --check       replay once and verify only
  --repeat N    replay N times (default 5) and print the best time: ops, best_ms, ns_per_op
  -h, --help    print this help
)";

struct Trace {
    std::string start;
    std::string end;
    std::vector<text::Op> ops;
};

[[noreturn]] void fail(const std::string &message) {
    std::fprintf(stderr, "trace-replay: %s\n", message.c_str());
    std::exit(1);
}

std::uint64_t count_arg(const json_t *v, const char *what, std::size_t patch) {
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        fail("patch " + std::to_string(patch) + ": " + what + " must be a non-negative integer");
    return static_cast<std::uint64_t>(json_integer_value(v));
}

std::string string_arg(const json_t *v, const char *what) {
    if (!json_is_string(v)) fail(std::string(what) + " must be a string");
    std::string s(json_string_value(v), json_string_length(v));
    text::validate_utf8(s, what);
    return s;
}

Trace load_trace(const char *path) {
    json_error_t err;
    collab::JsonPtr root(json_load_file(path, 0, &err));
    if (!root) fail(std::string(path) + ": " + err.text + " (line " + std::to_string(err.line) + ")");
    if (!json_is_object(root.get())) fail(std::string(path) + ": the trace must be a JSON object");
    Trace t;
    t.start = string_arg(json_object_get(root.get(), "startContent"), "startContent");
    t.end = string_arg(json_object_get(root.get(), "endContent"), "endContent");
    const json_t *txns = json_object_get(root.get(), "txns");
    if (!json_is_array(txns)) fail("txns must be an array");
    std::size_t index = 0;
    for (std::size_t i = 0; i < json_array_size(txns); ++i) {
        const json_t *patches = json_object_get(json_array_get(txns, i), "patches");
        if (!json_is_array(patches)) fail("txn " + std::to_string(i) + ": patches must be an array");
        for (std::size_t j = 0; j < json_array_size(patches); ++j, ++index) {
            const json_t *p = json_array_get(patches, j);
            if (!json_is_array(p) || json_array_size(p) != 3)
                fail("patch " + std::to_string(index) + " must be [pos, delCount, insText]");
            const std::uint64_t pos = count_arg(json_array_get(p, 0), "pos", index);
            const std::uint64_t del = count_arg(json_array_get(p, 1), "delCount", index);
            std::string ins = string_arg(json_array_get(p, 2), "insText");
            text::Op op;
            if (pos > 0) op.push_back(text::Component::skip(pos));
            if (!ins.empty()) {
                const std::uint64_t cps = text::count_code_points(ins);
                op.push_back(text::Component::insert(std::move(ins), cps));
            }
            if (del > 0) op.push_back(text::Component::del(del));
            // A patch that only moves the cursor is an empty op (a no-op), which is what normalize makes of it.
            if (!op.empty() && op.back().kind == text::Component::Kind::Skip) op.pop_back();
            t.ops.push_back(std::move(op));
        }
    }
    return t;
}

// Replays every op; returns the elapsed nanoseconds of the applies alone.
std::int64_t replay(const Trace &t, std::string &result) {
    text::Rope doc(t.start);
    const auto t0 = std::chrono::steady_clock::now();
    for (const text::Op &op : t.ops)
        text::apply(doc, op);
    const auto t1 = std::chrono::steady_clock::now();
    result = doc.to_string();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
}

void verify(const Trace &t, const std::string &result, const char *path) {
    if (result == t.end) return;
    const auto mismatch = std::mismatch(result.begin(), result.end(), t.end.begin(), t.end.end());
    const std::size_t at = static_cast<std::size_t>(mismatch.first - result.begin());
    fail(std::string(path) + ": final text differs from endContent at byte " + std::to_string(at) + " (got " +
         std::to_string(result.size()) + " bytes, expected " + std::to_string(t.end.size()) + ")");
}

} // namespace

int main(int argc, char **argv) {
    bool check = false;
    long repeat = 5;
    const char *path = nullptr;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--check") {
            check = true;
        } else if (a == "--repeat" && i + 1 < argc) {
            char *endp = nullptr;
            repeat = std::strtol(argv[++i], &endp, 10);
            if (*endp != '\0' || repeat < 1) {
                std::fprintf(stderr, "trace-replay: --repeat needs a positive integer\n");
                return 2;
            }
        } else if (path == nullptr && !a.starts_with("-")) {
            path = argv[i];
        } else {
            std::fprintf(stderr, "trace-replay: unexpected argument '%s'\n%s", argv[i], kUsage);
            return 2;
        }
    }
    if (path == nullptr) {
        std::fprintf(stderr, "%s", kUsage);
        return 2;
    }
    try {
        const Trace t = load_trace(path);
        std::string result;
        if (check) {
            replay(t, result);
            verify(t, result, path);
            std::printf("trace-replay: %s: OK, %zu ops, %llu code points, final text equals endContent\n", path,
                        t.ops.size(), static_cast<unsigned long long>(text::count_code_points(result)));
            return 0;
        }
        std::int64_t best = std::numeric_limits<std::int64_t>::max();
        for (long r = 0; r < repeat; ++r) {
            best = std::min(best, replay(t, result));
            verify(t, result, path);
        }
        const double ms = static_cast<double>(best) / 1e6;
        const double ns_per_op = t.ops.empty() ? 0.0 : static_cast<double>(best) / static_cast<double>(t.ops.size());
        std::printf("ops=%zu repeat=%ld best_ms=%.3f ns_per_op=%.1f\n", t.ops.size(), repeat, ms, ns_per_op);
        return 0;
    } catch (const collab::OtError &e) {
        fail(std::string(collab::error_kind_name(e.kind())) + ": " + e.what());
    } catch (const std::exception &e) {
        fail(e.what());
    }
}
