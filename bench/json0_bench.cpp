// json0-bench: apply and transform throughput of the C++ json0 core on a ~100 KB JSON document.
// bench/json0_bench_node.js does the same with npm ot-json0; bench/json0.sh runs both.
//
// Both programs generate the same document and ops from the same seed (mulberry32, identical draws in both; see the
// header of json0_bench_node.js for the workload). Generation is not timed. The ops are parsed once, before timing,
// to the typed form (json0::parse_op -> json0::Op), as Node's ops are JavaScript objects already. After one warm-up
// run, each measurement is repeated `repeat` times and the median is printed: (a) json0::apply of the whole op
// sequence, in place, to a fresh copy of the document as a json0::Value (the copy is not timed); (a') the same from
// each op's JSON text, parsing included in the timed loop (json0::parse_op(text) then json0::apply; Node: JSON.parse
// then type.apply); (b) json0::transform(op, other, left) and json0::transform(other, op, right) for every pair. The
// printed hashes (FNV-1a 32 of canonical JSON: compact, sorted keys) must equal the Node program's.

#include <jansson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "json0.hpp"
#include "types.hpp"

namespace {

namespace json0 = collab::json0;
using collab::JsonPtr;
using collab::json0::Value;

const char kUsage[] = R"(usage: json0-bench [--ops N] [--repeat N] [--seed N]

Generates a ~100 KB JSON document and N json0 ops (default 100000) from the seed (default 1), then measures apply of
the whole sequence and transform of every op against a concurrent op (both sides), `repeat` times (default 5) after a
warm-up run, and prints the medians and the hashes of the ops, the final document and the transform results.
)";

constexpr int kKeys = 12;
const char kAlpha[] = "abcdefghijklmnopqrstuvwxyz";

[[noreturn]] void fail(const std::string &message) {
    std::fprintf(stderr, "json0-bench: %s\n", message.c_str());
    std::exit(1);
}

struct Rng {
    std::uint32_t s;
    std::uint32_t operator()(std::uint32_t n) {
        s += 0x6d2b79f5u;
        std::uint32_t t = s;
        t = (t ^ (t >> 15)) * (t | 1u);
        t ^= t + (t ^ (t >> 7)) * (t | 61u);
        return (t ^ (t >> 14)) % n;
    }
};

JsonPtr own(json_t *j) { return collab::json_own(j); }

std::string canon(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s == nullptr) fail("json_dumps failed");
    std::string out(s);
    std::free(s);
    return out;
}

struct Fnv {
    std::uint32_t h = 0x811c9dc5u;
    void update(std::string_view s) {
        for (unsigned char c : s)
            h = (h ^ c) * 0x01000193u;
    }
    std::string hex() const {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(h));
        return buf;
    }
};

std::string letters(Rng &rng, std::uint32_t n) {
    std::string s;
    for (std::uint32_t i = 0; i < n; i++)
        s += kAlpha[rng(26)];
    return s;
}

std::string key_name(Rng &rng) { return "k" + std::to_string(rng(kKeys)); }

json_t *leaf(Rng &rng) {
    if (rng(100) < 60) {
        const std::uint32_t n = 5 + rng(36);
        return json_string(letters(rng, n).c_str());
    }
    return json_integer(rng(100000));
}

json_t *gen_container(Rng &rng, int depth);

json_t *gen_value(Rng &rng, int depth) {
    if (depth >= 4 || rng(100) < 55) return leaf(rng);
    return gen_container(rng, depth);
}

json_t *gen_container(Rng &rng, int depth) {
    if (rng(2) == 0) {
        json_t *o = collab::json_new_object();
        const std::uint32_t n = 2 + rng(7);
        for (std::uint32_t i = 0; i < n; i++) {
            const std::string k = key_name(rng);
            json_t *v = gen_value(rng, depth + 1);
            if (json_object_get(o, k.c_str()) == nullptr)
                json_object_set_new(o, k.c_str(), v);
            else
                json_decref(v);
        }
        return o;
    }
    json_t *a = json_array();
    const std::uint32_t n = 2 + rng(9);
    for (std::uint32_t i = 0; i < n; i++)
        json_array_append_new(a, gen_value(rng, depth + 1));
    return a;
}

JsonPtr gen_doc(Rng &rng, std::size_t target) {
    JsonPtr root = own(collab::json_new_object());
    std::size_t size = 2;
    for (std::size_t i = 0; size < target; i++) {
        json_t *c = gen_container(rng, 1);
        const std::string key = "r" + std::to_string(i);
        const std::size_t len = canon(c).size();
        json_object_set_new(root.get(), key.c_str(), c);
        size += len + key.size() + 3 + (i > 0 ? 1 : 0);
    }
    return root;
}

json_t *small_value(Rng &rng) {
    const std::uint32_t r = rng(10);
    if (r < 4) {
        const std::uint32_t n = 5 + rng(20);
        return json_string(letters(rng, n).c_str());
    }
    if (r < 7) return json_integer(rng(1000));
    if (r < 9) {
        const std::string k = key_name(rng);
        json_t *o = collab::json_new_object();
        json_object_set_new(o, k.c_str(), json_integer(rng(1000)));
        return o;
    }
    json_t *a = json_array();
    json_array_append_new(a, json_integer(rng(1000)));
    json_array_append_new(a, json_integer(rng(1000)));
    return a;
}

std::size_t nodes(const Value &v) {
    std::size_t n = 1;
    if (v.is_array()) {
        for (const Value &e : v.arr())
            n += nodes(e);
    } else if (v.is_object()) {
        for (const auto &m : v.obj().items())
            n += nodes(m.second);
    }
    return n;
}

// A path element: an object key or a list index.
struct Key {
    bool is_index = false;
    std::size_t index = 0;
    std::string name;
};
using Path = std::vector<Key>;

const Value *child(const Value &node, const Key &k) {
    if (k.is_index) return k.index < node.arr().size() ? &node.arr()[k.index] : nullptr;
    return node.obj().find(k.name);
}

std::vector<std::string> sorted_keys(const Value &o) {
    std::vector<std::string> keys;
    for (const auto &m : o.obj().items())
        keys.push_back(m.first);
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::vector<Key> container_children(const Value &node) {
    std::vector<Key> out;
    if (node.is_array()) {
        for (std::size_t i = 0; i < node.arr().size(); i++)
            if (node.arr()[i].is_container()) out.push_back({true, i, {}});
    } else {
        for (std::string &k : sorted_keys(node))
            if (node.obj().find(k)->is_container()) out.push_back({false, 0, std::move(k)});
    }
    return out;
}

json_t *path_json(const Path &p, const Key *last = nullptr, const std::size_t *offset = nullptr) {
    json_t *a = json_array();
    auto add = [a](const Key &k) {
        json_array_append_new(a, k.is_index ? json_integer(static_cast<json_int_t>(k.index))
                                            : json_string(k.name.c_str()));
    };
    for (const Key &k : p)
        add(k);
    if (last != nullptr) add(*last);
    if (offset != nullptr) json_array_append_new(a, json_integer(static_cast<json_int_t>(*offset)));
    return a;
}

struct GenOp {
    JsonPtr op;
    Path container;
};

// One op of one component against doc; start: the container to act on, or nullptr for a random walk.
GenOp gen_op(Rng &rng, const Value &doc, const Path *start) {
    const Value *node = &doc;
    Path p;
    if (start != nullptr) {
        for (const Key &k : *start)
            node = child(*node, k);
        p = *start;
    } else {
        for (int depth = 0;; depth++) {
            std::vector<Key> cs = container_children(*node);
            if (cs.empty()) break;
            const std::uint32_t pr = depth == 0 ? 100 : depth == 1 ? 80 : 50;
            if (rng(100) >= pr) break;
            Key k = cs[rng(static_cast<std::uint32_t>(cs.size()))];
            node = child(*node, k);
            p.push_back(std::move(k));
        }
    }
    auto done = [&p](json_t *c) {
        JsonPtr op = own(json_array());
        json_array_append_new(op.get(), c);
        return GenOp{std::move(op), p};
    };
    auto component = [](json_t *path) {
        json_t *c = collab::json_new_object();
        json_object_set_new(c, "p", path);
        return c;
    };
    for (;;) {
        const bool is_list = node->is_array();
        Key key;
        if (is_list) {
            const auto n = static_cast<std::uint32_t>(node->arr().size());
            const std::uint32_t r = rng(100);
            if (n == 0 || r < 10) {
                const Key at{true, rng(n + 1), {}};
                json_t *c = component(path_json(p, &at));
                json_object_set_new(c, "li", small_value(rng));
                return done(c);
            }
            if (r < 20 && n >= 2) {
                const Key from{true, rng(n), {}};
                std::uint32_t to = rng(n - 1);
                if (to >= from.index) to++;
                json_t *c = component(path_json(p, &from));
                json_object_set_new(c, "lm", json_integer(to));
                return done(c);
            }
            key = {true, rng(n), {}};
        } else {
            key = {false, 0, key_name(rng)};
            if (node->obj().find(key.name) == nullptr) {
                const std::vector<std::string> keys = sorted_keys(*node);
                if (keys.empty() || rng(3) == 0) {
                    json_t *c = component(path_json(p, &key));
                    json_object_set_new(c, "oi", small_value(rng));
                    return done(c);
                }
                key.name = keys[rng(static_cast<std::uint32_t>(keys.size()))];
            }
        }
        const Value *v = child(*node, key);
        auto del = [&]() {
            json_t *c = component(path_json(p, &key));
            json_object_set_new(c, is_list ? "ld" : "od", v->to_json().release());
            return c;
        };
        auto repl = [&]() {
            json_t *nv = small_value(rng);
            json_t *c = component(path_json(p, &key));
            json_object_set_new(c, is_list ? "ld" : "od", v->to_json().release());
            json_object_set_new(c, is_list ? "li" : "oi", nv);
            return c;
        };
        if (!v->is_container()) {
            const std::uint32_t r = rng(10);
            if (r < 3) return done(del());
            if (r < 4) return done(repl());
            if (v->is_string()) {
                const auto len = static_cast<std::uint32_t>(v->str().size());
                if (len == 0 || rng(2) == 0) {
                    const std::size_t off = rng(len + 1);
                    const std::uint32_t n = 1 + rng(3);
                    json_t *c = component(path_json(p, &key, &off));
                    json_object_set_new(c, "si", json_string(letters(rng, n).c_str()));
                    return done(c);
                }
                const std::size_t off = rng(len);
                const std::uint32_t n = 1 + rng(std::min<std::uint32_t>(5, len - static_cast<std::uint32_t>(off)));
                json_t *c = component(path_json(p, &key, &off));
                json_object_set_new(c, "sd", json_stringn(v->str().data() + off, n));
                return done(c);
            }
            const json_int_t mag = 1 + rng(10);
            json_t *c = component(path_json(p, &key));
            json_object_set_new(c, "na", json_integer(rng(2) == 0 ? mag : -mag));
            return done(c);
        }
        if (nodes(*v) <= 4) {
            const std::uint32_t r = rng(3);
            if (r == 0) return done(del());
            if (r == 1) return done(repl());
        }
        node = v;
        p.push_back(std::move(key));
    }
}

double median(std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[(xs.size() - 1) / 2];
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

long positive_arg(const char *flag, const char *value) {
    char *endp = nullptr;
    const long v = std::strtol(value, &endp, 10);
    if (*endp != '\0' || v < 1) {
        std::fprintf(stderr, "json0-bench: %s needs a positive integer\n%s", flag, kUsage);
        std::exit(2);
    }
    return v;
}

} // namespace

int main(int argc, char **argv) {
    long nops = 100000, repeat = 5, seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--ops" && i + 1 < argc) {
            nops = positive_arg(argv[i], argv[i + 1]);
            ++i;
        } else if (a == "--repeat" && i + 1 < argc) {
            repeat = positive_arg(argv[i], argv[i + 1]);
            ++i;
        } else if (a == "--seed" && i + 1 < argc) {
            seed = positive_arg(argv[i], argv[i + 1]);
            ++i;
        } else {
            std::fprintf(stderr, "json0-bench: unexpected argument '%s'\n%s", argv[i], kUsage);
            return 2;
        }
    }
    try {
        Rng rng{static_cast<std::uint32_t>(seed)};
        const JsonPtr doc0 = gen_doc(rng, 100 * 1024);
        const std::size_t doc_bytes = canon(doc0.get()).size();
        const Value doc0v = Value::from_json(doc0.get());
        Value state = doc0v;
        std::vector<JsonPtr> ops, others;
        ops.reserve(static_cast<std::size_t>(nops));
        others.reserve(static_cast<std::size_t>(nops));
        for (long i = 0; i < nops; i++) {
            GenOp a = gen_op(rng, state, nullptr);
            const bool same = rng(2) == 0;
            GenOp b = gen_op(rng, state, same ? &a.container : nullptr);
            json0::apply(state, json0::parse_op(a.op.get()));
            ops.push_back(std::move(a.op));
            others.push_back(std::move(b.op));
        }
        Fnv ops_hash;
        for (std::size_t i = 0; i < ops.size(); i++) {
            ops_hash.update(canon(ops[i].get()) + "\n");
            ops_hash.update(canon(others[i].get()) + "\n");
        }
        const std::string expected = canon(state.to_json().get());

        // Ops parsed to the typed form once, outside the timed loops (as Node's ops are JavaScript objects already),
        // and as JSON text (JSON.stringify's compact form) for the apply-from-text measurement.
        std::vector<json0::Op> typed, typed_others;
        std::vector<std::string> texts;
        typed.reserve(ops.size());
        typed_others.reserve(ops.size());
        texts.reserve(ops.size());
        for (std::size_t i = 0; i < ops.size(); i++) {
            typed.push_back(json0::parse_op(ops[i].get()));
            typed_others.push_back(json0::parse_op(others[i].get()));
            texts.push_back(collab::json_dump(ops[i].get()));
        }

        // (a) apply of typed ops to a fresh copy of the document (copy not timed)
        std::vector<double> apply_ms;
        for (long r = 0; r <= repeat; r++) {
            Value doc = doc0v;
            const auto t0 = std::chrono::steady_clock::now();
            for (const json0::Op &op : typed)
                json0::apply(doc, op);
            const double ms = ms_since(t0);
            if (canon(doc.to_json().get()) != expected) fail("the final document differs from the generator's");
            if (r > 0) apply_ms.push_back(ms);
        }
        Fnv doc_hash;
        doc_hash.update(expected);

        // (a') apply from JSON text: parsing each op is part of the timed loop
        std::vector<double> apply_text_ms;
        for (long r = 0; r <= repeat; r++) {
            Value doc = doc0v;
            const auto t0 = std::chrono::steady_clock::now();
            for (const std::string &text : texts)
                json0::apply(doc, json0::parse_op(std::string_view(text)));
            const double ms = ms_since(t0);
            if (canon(doc.to_json().get()) != expected)
                fail("the final document (apply from JSON text) differs from the generator's");
            if (r > 0) apply_text_ms.push_back(ms);
        }

        // (b) transform of typed ops, both sides
        std::vector<double> xform_ms;
        std::string xform_hex;
        std::vector<json0::Op> results(2 * ops.size());
        for (long r = 0; r <= repeat; r++) {
            const auto t0 = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < ops.size(); i++) {
                results[2 * i] = json0::transform(typed[i], typed_others[i], collab::Side::Left);
                results[2 * i + 1] = json0::transform(typed_others[i], typed[i], collab::Side::Right);
            }
            const double ms = ms_since(t0);
            if (r > 0) xform_ms.push_back(ms);
            if (r == 0 || r == repeat) {
                Fnv h;
                for (const json0::Op &x : results)
                    h.update(canon(json0::to_json(x).get()) + "\n");
                if (!xform_hex.empty() && h.hex() != xform_hex) fail("transform results differ between runs");
                xform_hex = h.hex();
            }
        }

        const double am = median(apply_ms), tm = median(apply_text_ms), xm = median(xform_ms);
        std::printf("ops=%ld repeat=%ld seed=%ld doc_bytes=%zu final_bytes=%zu ops_hash=%s doc_hash=%s xform_hash=%s "
                    "apply_ms=%.3f apply_ops_s=%.0f apply_text_ms=%.3f apply_text_ops_s=%.0f xform_ms=%.3f "
                    "xform_s=%.0f\n",
                    nops, repeat, seed, doc_bytes, expected.size(), ops_hash.hex().c_str(), doc_hash.hex().c_str(),
                    xform_hex.c_str(), am, static_cast<double>(nops) / (am / 1e3), tm,
                    static_cast<double>(nops) / (tm / 1e3), xm, static_cast<double>(2 * nops) / (xm / 1e3));
        return 0;
    } catch (const collab::OtError &e) {
        fail(std::string(collab::error_kind_name(e.kind())) + ": " + e.what());
    } catch (const std::exception &e) {
        fail(e.what());
    }
}
