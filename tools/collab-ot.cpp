// collab-ot: a command-line front end to the pg_collab OT core (the type-erased API of types.hpp).
//
// One-shot commands print one result as JSON; `serve` answers JSON-lines requests on stdin, which is how the
// differential test drives the core. See usage() for the protocol.

#include <jansson.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errors.hpp"
#include "json.hpp"
#include "json0.hpp"
#include "types.hpp"

namespace {

using collab::ErrorKind;
using collab::JsonPtr;
using collab::OtError;
using collab::OtType;

const char kUsage[] = R"(usage: collab-ot COMMAND [ARGS...]

A command-line front end to the pg_collab OT core. TYPE is a type name or URI (text-unicode or
http://sharejs.org/types/text-unicode; json0 or http://sharejs.org/types/JSONv0, not yet in the core's registry). DOC, OP, OTHER, A and B are JSON texts (a text-unicode document is a JSON
string, so quote it: '"hello"'); POS is an integer; SIDE is left or right.

One-shot commands (print the result as compact JSON on stdout; on error print "collab-ot: KIND: MESSAGE" on stderr
and exit with status 1; bad usage exits with status 2):
  apply TYPE DOC OP                   the document after OP (strict: no skip or delete past the end)
  transform TYPE OP OTHER SIDE        OP transformed so that it applies after OTHER
  compose TYPE A B                    one op equivalent to A followed by B
  transform-position TYPE POS OP      a cursor position moved over OP
  normalize TYPE OP                   OP without empty or split components and without a trailing skip
  invert TYPE OP                      the op undoing OP (OP's deletes must carry their text)
  check-op TYPE OP                    prints true, or fails naming the rule OP breaks
  call REQUEST                        one request of the serve protocol below; prints its response line

serve: reads requests from stdin, one JSON object per line, and writes exactly one response line per request, in
order. Blank lines are ignored. Requests:
  {"fn":"apply","type":TYPE,"doc":DOC,"op":OP}
  {"fn":"transform","type":TYPE,"op":OP,"other":OTHER,"side":"left"|"right"}
  {"fn":"compose","type":TYPE,"a":A,"b":B}
  {"fn":"transform_position","type":TYPE,"pos":POS,"op":OP}
  {"fn":"normalize","type":TYPE,"op":OP}
  {"fn":"invert","type":TYPE,"op":OP}
  {"fn":"check_op","type":TYPE,"op":OP}
Responses:
  {"ok":RESULT}                                  (check_op answers {"ok":true})
  {"error":{"kind":KIND,"message":MESSAGE}}
KIND is one of op_badly_formed, op_not_applicable, invalid_text, data_badly_formed, type_not_recognized,
invalid_argument, unsupported, or internal for an unexpected failure. A bad request line is answered with an error
like any other failure; serve only stops at the end of its input. Responses are written once per chunk of input read,
so a client may stream many requests without waiting for each answer.

  -h, --help                          print this help
)";

const json_t *field(const json_t *req, const char *name) {
    const json_t *v = json_object_get(req, name);
    if (v == nullptr)
        throw OtError(ErrorKind::InvalidArgument, std::string("request field \"") + name + "\" is missing");
    return v;
}

std::string_view string_field(const json_t *req, const char *name) {
    const json_t *v = field(req, name);
    if (!json_is_string(v))
        throw OtError(ErrorKind::InvalidArgument,
                      std::string("request field \"") + name + "\" must be a string, not " + collab::json_type_name(v));
    return {json_string_value(v), json_string_length(v)};
}

// The registry's types, plus json0, which is not registered in the core's registry yet (the extension and the bridge
// do not accept json0 documents yet) but is served here for its differential test.
const OtType &lookup_type(std::string_view name) {
    const OtType &j = collab::json0::type();
    if (name == j.name() || name == j.uri()) return j;
    return collab::require_type(name);
}

// Runs one request object and returns its result value.
JsonPtr dispatch(const json_t *req) {
    if (!json_is_object(req))
        throw OtError(ErrorKind::InvalidArgument,
                      std::string("a request must be a JSON object, not ") + collab::json_type_name(req));
    const std::string_view fn = string_field(req, "fn");
    const OtType &type = lookup_type(string_field(req, "type"));
    if (fn == "apply") return type.apply(field(req, "doc"), field(req, "op"));
    if (fn == "transform")
        return type.transform(field(req, "op"), field(req, "other"), collab::parse_side(string_field(req, "side")));
    if (fn == "compose") return type.compose(field(req, "a"), field(req, "b"));
    if (fn == "transform_position") {
        const json_t *pos = field(req, "pos");
        if (!json_is_integer(pos))
            throw OtError(ErrorKind::InvalidArgument,
                          std::string("request field \"pos\" must be an integer, not ") + collab::json_type_name(pos));
        return collab::json_own(json_integer(type.transform_position(json_integer_value(pos), field(req, "op"))));
    }
    if (fn == "normalize") return type.normalize(field(req, "op"));
    if (fn == "invert") return type.invert(field(req, "op"));
    if (fn == "check_op") {
        type.check_op(field(req, "op"));
        return collab::json_own(json_true());
    }
    throw OtError(ErrorKind::InvalidArgument, "unknown fn \"" + std::string(fn) +
                                                  "\" (expected apply, transform, compose, transform_position, "
                                                  "normalize, invert or check_op)");
}

// Appends s as a JSON string literal. Bytes that are not valid UTF-8 (messages may quote input) become U+FFFD.
void append_json_string(std::string &out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // Multi-byte sequence: copy it when well formed (shortest form, no surrogates, <= U+10FFFF).
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07;
        }
        bool ok = n != 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (ok &&
            ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
            ok = false;
        if (ok) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    out += '"';
}

void append_error(std::string &out, const char *kind, std::string_view message) {
    out += R"({"error":{"kind":)";
    append_json_string(out, kind);
    out += R"(,"message":)";
    append_json_string(out, message);
    out += "}}\n";
}

// Answers one request line; never throws except std::bad_alloc while building the response itself.
void handle_line(std::string &out, std::string_view line) {
    try {
        JsonPtr req = collab::json_parse(line, ErrorKind::InvalidArgument, "the request");
        JsonPtr result = dispatch(req.get());
        out += R"({"ok":)";
        out += collab::json_dump(result.get());
        out += "}\n";
    } catch (const OtError &e) {
        append_error(out, collab::error_kind_name(e.kind()), e.what());
    } catch (const std::exception &e) {
        append_error(out, "internal", e.what());
    } catch (...) {
        append_error(out, "internal", "unknown exception");
    }
}

bool write_all(int fd, const std::string &data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

int serve() {
    constexpr std::size_t kReadSize = 1 << 16;
    constexpr std::size_t kFlushSize = 1 << 20;
    std::vector<char> buf(kReadSize);
    std::string pending; // an incomplete last line carried over to the next read
    std::string out;
    out.reserve(kFlushSize * 2);
    auto process = [&](std::string_view line) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) return;
        handle_line(out, line);
        if (out.size() >= kFlushSize) {
            if (!write_all(STDOUT_FILENO, out)) throw std::runtime_error("cannot write to stdout");
            out.clear();
        }
    };
    try {
        for (;;) {
            const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                std::fprintf(stderr, "collab-ot: cannot read stdin: %s\n", std::strerror(errno));
                return 1;
            }
            if (n == 0) break;
            std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
            for (;;) {
                const std::size_t nl = chunk.find('\n');
                if (nl == std::string_view::npos) {
                    pending.append(chunk);
                    break;
                }
                if (pending.empty()) {
                    process(chunk.substr(0, nl));
                } else {
                    pending.append(chunk.substr(0, nl));
                    process(pending);
                    pending.clear();
                }
                chunk.remove_prefix(nl + 1);
            }
            // Answer everything read so far before blocking on the next read.
            if (!out.empty()) {
                if (!write_all(STDOUT_FILENO, out)) throw std::runtime_error("cannot write to stdout");
                out.clear();
            }
        }
        if (!pending.empty()) process(pending);
        if (!out.empty() && !write_all(STDOUT_FILENO, out)) throw std::runtime_error("cannot write to stdout");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "collab-ot: %s\n", e.what());
        return 1;
    }
    return 0;
}

struct Command {
    const char *name;
    const char *fn;
    std::vector<const char *> params; // request fields, in argument order; "type" first
};

const std::vector<Command> &commands() {
    static const std::vector<Command> list = {
        {"apply", "apply", {"type", "doc", "op"}},  {"transform", "transform", {"type", "op", "other", "side"}},
        {"compose", "compose", {"type", "a", "b"}}, {"transform-position", "transform_position", {"type", "pos", "op"}},
        {"normalize", "normalize", {"type", "op"}}, {"invert", "invert", {"type", "op"}},
        {"check-op", "check_op", {"type", "op"}},
    };
    return list;
}

int usage_error(const std::string &message) {
    std::fprintf(stderr, "collab-ot: %s\nRun 'collab-ot --help' for usage.\n", message.c_str());
    return 2;
}

int one_shot(const Command &cmd, int argc, char **argv) {
    if (static_cast<std::size_t>(argc) != cmd.params.size())
        return usage_error(std::string(cmd.name) + " takes " + std::to_string(cmd.params.size()) + " arguments");
    try {
        JsonPtr req = collab::json_own(collab::json_new_object());
        json_object_set_new(req.get(), "fn", json_string(cmd.fn));
        for (int i = 0; i < argc; ++i) {
            const std::string_view param = cmd.params[static_cast<std::size_t>(i)];
            JsonPtr value;
            if (param == "type" || param == "side") {
                value = collab::json_own(json_stringn(argv[i], std::strlen(argv[i])));
            } else {
                value =
                    collab::json_parse(argv[i], ErrorKind::InvalidArgument, cmd.params[static_cast<std::size_t>(i)]);
            }
            json_object_set(req.get(), cmd.params[static_cast<std::size_t>(i)], value.get());
        }
        JsonPtr result = dispatch(req.get());
        const std::string text = collab::json_dump(result.get()) + "\n";
        std::fputs(text.c_str(), stdout);
        return 0;
    } catch (const OtError &e) {
        std::fprintf(stderr, "collab-ot: %s: %s\n", collab::error_kind_name(e.kind()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "collab-ot: internal: %s\n", e.what());
    }
    return 1;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) return usage_error("missing command");
    const std::string_view cmd = argv[1];
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "serve") {
        if (argc != 2) return usage_error("serve takes no arguments");
        return serve();
    }
    if (cmd == "call") {
        if (argc != 3) return usage_error("call takes one argument");
        std::string out;
        handle_line(out, argv[2]);
        std::fputs(out.c_str(), stdout);
        return out.starts_with(R"({"ok":)") ? 0 : 1;
    }
    for (const Command &c : commands())
        if (cmd == c.name) return one_shot(c, argc - 2, argv + 2);
    return usage_error("unknown command '" + std::string(cmd) + "'");
}
