// collab-bridge: configuration (see config.hpp). One table of flags drives parsing, the environment variables and the
// --help text, so they cannot drift apart.

#include "config.hpp"

#include <libpq-fe.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>
#include <sys/stat.h>

#include "log.hpp"

namespace collab::bridge {

namespace {

// A flag's value goes through set(); it returns "" or what is wrong with the value (without the flag's name).
struct Flag {
    const char *name;    // without the leading "--"
    const char *arg;     // placeholder in --help
    const char *section; // --help groups flags under this heading
    const char *help;
    std::function<std::string(const Config &)> show_default;
    std::function<std::string(Config &, std::string_view)> set;
    bool boolean = false; // given without a value (--name) or as --name=true|false
};

std::string parse_bool(std::string_view v, bool &out) {
    if (v == "true" || v == "1" || v == "yes" || v == "on") {
        out = true;
        return "";
    }
    if (v == "false" || v == "0" || v == "no" || v == "off") {
        out = false;
        return "";
    }
    return "'" + std::string(v) + "' is not true or false";
}

std::function<std::string(Config &, std::string_view)> boolean(bool Config::*field) {
    return [field](Config &c, std::string_view v) { return parse_bool(v, c.*field); };
}

std::function<std::string(const Config &)> show_bool(bool Config::*field) {
    return [field](const Config &c) { return std::string(c.*field ? "true" : "false"); };
}

std::function<std::string(Config &, std::string_view)> text(std::string Config::*field, bool allow_empty = true) {
    return [field, allow_empty](Config &c, std::string_view v) -> std::string {
        if (!allow_empty && v.empty()) return "must not be empty";
        c.*field = std::string(v);
        return "";
    };
}

std::function<std::string(const Config &)> show_text(std::string Config::*field) {
    return [field](const Config &c) { return (c.*field).empty() ? std::string("none") : c.*field; };
}

std::string env_name(std::string_view flag) {
    std::string env = "COLLAB_BRIDGE_";
    for (char c : flag)
        env.push_back(c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
    return env;
}

std::string quoted(std::string_view v) { return "'" + std::string(v) + "'"; }

// A whole decimal number in [min, max]; returns "" or the problem.
std::string parse_number(std::string_view text, long long min, long long max, long long &out, const char *unit = "") {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
        return quoted(text) + " is not a whole number";
    }
    if (ec == std::errc::result_out_of_range || v < min || v > max) {
        return quoted(text) + " is out of range (" + std::to_string(min) + "-" + std::to_string(max) + unit + ")";
    }
    out = v;
    return "";
}

template <class T>
std::function<std::string(Config &, std::string_view)> number(T Config::*field, long long min, long long max,
                                                              const char *unit = "") {
    return [field, min, max, unit](Config &c, std::string_view v) {
        long long n = 0;
        std::string err = parse_number(v, min, max, n, unit);
        if (err.empty()) c.*field = static_cast<T>(n);
        return err;
    };
}

template <class T>
std::function<std::string(Config &, std::string_view)> db_number(T DbConfig::*field, long long min, long long max,
                                                                 const char *unit = "") {
    return [field, min, max, unit](Config &c, std::string_view v) {
        long long n = 0;
        std::string err = parse_number(v, min, max, n, unit);
        if (err.empty()) c.db.*field = static_cast<T>(n);
        return err;
    };
}

template <class T> std::function<std::string(const Config &)> show(T Config::*field) {
    return [field](const Config &c) { return std::to_string(c.*field); };
}

template <class T> std::function<std::string(const Config &)> show_db(T DbConfig::*field) {
    return [field](const Config &c) { return std::to_string(c.db.*field); };
}

bool looks_like_conninfo(std::string_view v) {
    return v.find('=') != std::string_view::npos || v.starts_with("postgresql://") || v.starts_with("postgres://");
}

std::string set_conninfo(Config &c, std::string_view v) {
    std::string text(v);
    if (looks_like_conninfo(text)) {
        char *err = nullptr;
        PQconninfoOption *opts = PQconninfoParse(text.c_str(), &err);
        if (opts == nullptr) {
            std::string msg = err != nullptr ? err : "out of memory";
            if (err != nullptr) PQfreemem(err);
            while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
                msg.pop_back();
            return "invalid libpq connection string: " + msg +
                   " (expected 'key=value ...' or a postgresql:// URI; see the libpq documentation)";
        }
        PQconninfoFree(opts);
    }
    c.db.conninfo = std::move(text); // otherwise a plain database name, as libpq treats it
    return "";
}

const std::vector<Flag> &flags() {
    static const std::vector<Flag> table = {
        {"host", "ADDR", "Listening",
         "address (or interface name) to listen on for WebSocket and HTTP; 0.0.0.0 for all IPv4 addresses",
         [](const Config &c) { return c.host; },
         [](Config &c, std::string_view v) -> std::string {
             if (v.empty() || v.find_first_of(" \t\r\n") != std::string_view::npos) {
                 return quoted(v) + " is not an address (give an IP address, host name or interface name)";
             }
             c.host = std::string(v);
             return "";
         }},
        {"port", "N", "Listening", "TCP port to listen on (1-65535)", show(&Config::port),
         [](Config &c, std::string_view v) -> std::string {
             long long n = 0;
             if (!parse_number(v, 1, 65535, n).empty()) return quoted(v) + " is not a port number (1-65535)";
             c.port = static_cast<int>(n);
             return "";
         }},
        {"web-root", "DIR", "Listening",
         "serve the files of DIR on GET (the web editor: web/dist, built by make web); / is DIR/index.html; hashed "
         "asset names are cached for a year, everything else revalidated",
         show_text(&Config::web_root),
         [](Config &c, std::string_view v) -> std::string {
             struct stat st {};
             const std::string dir(v);
             if (v.empty()) return "must not be empty";
             if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                 return quoted(v) + " is not a directory (build the web editor with make web)";
             if (::stat((dir + "/index.html").c_str(), &st) != 0)
                 return quoted(v) + " has no index.html (build the web editor with make web)";
             c.web_root = dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
             return "";
         }},
        {"event-loop", "LOOP", "Listening",
         "how sockets are watched: ev (libev with epoll, through the libwebsockets-evlib-ev plugin) or poll "
         "(libwebsockets' own poll() loop, which scans every socket on every wakeup: more CPU with many sockets)",
         [](const Config &c) { return c.event_loop; },
         [](Config &c, std::string_view v) -> std::string {
             if (v != "poll" && v != "ev") return quoted(v) + " is not an event loop (poll, ev)";
             c.event_loop = std::string(v);
             return "";
         }},

        {"db", "CONNINFO", "Database",
         "libpq connection string ('host=/run/postgresql dbname=app user=bridge') or URI "
         "(postgresql://bridge@db.example/app), or a database name. Empty: libpq's environment variables apply "
         "(PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGPASSFILE, PGSSLMODE, ...). application_name defaults to "
         "collab-bridge",
         [](const Config &c) { return c.db.conninfo.empty() ? std::string("empty") : std::string("(set)"); },
         set_conninfo},
        {"pool-size", "N", "Database", "connections for queries (1-100); one more connection LISTENs",
         show_db(&DbConfig::pool_size), db_number(&DbConfig::pool_size, 1, 100)},
        {"db-backoff-min-ms", "N", "Database",
         "reconnect delay after a lost or failed connection; doubles per failure up to --db-backoff-max-ms, with "
         "random jitter (1-60000)",
         show_db(&DbConfig::backoff_min_ms), db_number(&DbConfig::backoff_min_ms, 1, 60000, " ms")},
        {"db-backoff-max-ms", "N", "Database", "longest reconnect delay (1-600000)", show_db(&DbConfig::backoff_max_ms),
         db_number(&DbConfig::backoff_max_ms, 1, 600000, " ms")},
        {"db-connect-timeout-ms", "N", "Database", "give up one connection attempt after N ms (100-600000)",
         show_db(&DbConfig::connect_timeout_ms), db_number(&DbConfig::connect_timeout_ms, 100, 600000, " ms")},

        {"batch-window-us", "N", "Submits",
         "group commit: after the first submit, wait up to N microseconds for more before committing them in one "
         "transaction (0-1000000; 0: commit what is waiting at once)",
         show(&Config::batch_window_us), number(&Config::batch_window_us, 0, 1000000, " us")},
        {"batch-max-ops", "N", "Submits",
         "commit as soon as N submits are waiting, and at most N per transaction (1-100000)",
         show(&Config::batch_max_ops), number(&Config::batch_max_ops, 1, 100000)},

        {"max-message-bytes", "N", "Limits per socket",
         "largest incoming WebSocket message, after reassembling fragments; larger: close 1009 (1024-1073741824)",
         show(&Config::max_message_bytes), number(&Config::max_message_bytes, 1024, 1LL << 30, " bytes")},
        {"max-queue-messages", "N", "Limits per socket",
         "outgoing messages queued for one socket; a socket over this or --max-queue-bytes is a slow consumer and "
         "is closed with 4008 (1-10000000)",
         show(&Config::max_queue_messages), number(&Config::max_queue_messages, 1, 10000000)},
        {"max-queue-bytes", "N", "Limits per socket", "outgoing bytes queued for one socket (1024-17179869184)",
         show(&Config::max_queue_bytes), number(&Config::max_queue_bytes, 1024, 1LL << 34, " bytes")},
        {"max-subscriptions", "N", "Limits per socket", "documents one socket may subscribe to (1-1000000)",
         show(&Config::max_subscriptions), number(&Config::max_subscriptions, 1, 1000000)},
        {"rate-limit", "N", "Limits per socket",
         "messages per second from one socket, with bursts of twice as many (1-1000000)",
         show(&Config::rate_limit_per_second), number(&Config::rate_limit_per_second, 1, 1000000)},
        {"ping-interval", "S", "Limits per socket", "send a WebSocket ping after S idle seconds (1-86400)",
         show(&Config::ping_interval_s), number(&Config::ping_interval_s, 1, 86400, " s")},
        {"idle-timeout", "S", "Limits per socket",
         "close a socket that has not answered a ping for S seconds; must be greater than --ping-interval "
         "(2-86400)",
         show(&Config::idle_timeout_s), number(&Config::idle_timeout_s, 2, 86400, " s")},

        {"drain-timeout", "S", "Lifecycle",
         "on SIGTERM: report not ready, stop accepting, and wait up to S seconds for in-flight commits before "
         "closing sockets with 1012 (0-3600)",
         show(&Config::drain_timeout_s), number(&Config::drain_timeout_s, 0, 3600, " s")},
        {"jwt-hs256-secret-file", "FILE", "Authentication",
         "verify HS256 access tokens of an external issuer with the secret in FILE (at least 32 random bytes; one "
         "trailing newline is ignored); needs --jwt-issuer and --jwt-audience",
         show_text(&Config::jwt_hs256_secret_file), text(&Config::jwt_hs256_secret_file)},
        {"jwt-public-key-file", "FILE", "Authentication",
         "verify access tokens of an external issuer with the PEM public key in FILE (RSA >= 2048 bits: RS256; EC "
         "P-256: ES256); needs --jwt-issuer and --jwt-audience",
         show_text(&Config::jwt_public_key_file), text(&Config::jwt_public_key_file)},
        {"jwt-jwks-file", "FILE", "Authentication",
         "verify access tokens of an external issuer with the RSA and EC P-256 keys of the JWK Set in FILE (selected "
         "by kid); needs --jwt-issuer and --jwt-audience",
         show_text(&Config::jwt_jwks_file), text(&Config::jwt_jwks_file)},
        {"jwt-hs256-secret-env", "VAR", "Authentication",
         "as --jwt-hs256-secret-file, with the secret in the environment variable VAR (for secret stores that "
         "inject variables)",
         show_text(&Config::jwt_hs256_secret_env), text(&Config::jwt_hs256_secret_env)},
        {"jwt-public-key-env", "VAR", "Authentication",
         "as --jwt-public-key-file, with the PEM public key in the environment variable VAR",
         show_text(&Config::jwt_public_key_env), text(&Config::jwt_public_key_env)},
        {"jwt-issuer", "ISS", "Authentication", "the iss that external access tokens must carry",
         show_text(&Config::jwt_issuer), text(&Config::jwt_issuer, false)},
        {"jwt-audience", "AUD", "Authentication", "the aud that external access tokens must carry (or list)",
         show_text(&Config::jwt_audience), text(&Config::jwt_audience, false)},
        {"jwt-org-claim", "NAME", "Authentication",
         "the claim of an access token that names the user's organization (the user is the sub claim)",
         [](const Config &c) { return c.jwt_org_claim; }, text(&Config::jwt_org_claim, false)},
        {"allowed-origin", "ORIGIN", "Authentication",
         "a browser origin (scheme://host[:port], compared exactly) allowed to open sockets and call /auth/*; "
         "repeat the flag for several (environment: separated by spaces). Requests with another Origin get 403; "
         "requests without one (non-browser clients) need a valid token as always",
         [](const Config &c) {
             std::string out;
             for (const std::string &o : c.allowed_origins)
                 out += (out.empty() ? "" : " ") + o;
             return out.empty() ? std::string("none (browsers are refused)") : out;
         },
         [](Config &c, std::string_view v) -> std::string {
             std::size_t start = 0;
             while (start < v.size()) {
                 std::size_t end = v.find(' ', start);
                 if (end == std::string_view::npos) end = v.size();
                 std::string_view o = v.substr(start, end - start);
                 if (!o.empty()) {
                     if (!(o.starts_with("http://") || o.starts_with("https://")) || o.back() == '/' ||
                         o.find('*') != std::string_view::npos)
                         return quoted(o) + " is not an origin: write scheme://host[:port], without path, trailing "
                                            "slash or wildcard";
                     c.allowed_origins.emplace_back(o);
                 }
                 start = end + 1;
             }
             return "";
         }},
        {"insecure-no-auth", "", "Authentication",
         "FOR LOCAL DEVELOPMENT AND BENCHMARKS ONLY: accept sockets without a token; each acts as the user "
         "'anonymous' (which still needs rights: SELECT collab.grant(collection, NULL, 'user:anonymous', 'editor'))",
         show_bool(&Config::insecure_no_auth), boolean(&Config::insecure_no_auth), true},
        {"dev-login", "", "Authentication",
         "FOR DEVELOPMENT ONLY: serve POST /auth/dev-login, which logs in as any user named in the request; also "
         "needs pg_collab.dev_login = on in the database",
         show_bool(&Config::dev_login), boolean(&Config::dev_login), true},
        {"insecure-cookies", "", "Authentication",
         "set the session cookies without the Secure attribute, so that http://localhost works during development",
         show_bool(&Config::insecure_cookies), boolean(&Config::insecure_cookies), true},
        {"access-token-ttl", "S", "Authentication", "lifetime of the built-in service's access tokens (60-3600)",
         show(&Config::access_token_ttl_s), number(&Config::access_token_ttl_s, 60, 3600, " s")},
        {"refresh-token-ttl", "S", "Authentication", "lifetime of the built-in service's refresh tokens (60-31536000)",
         show(&Config::refresh_token_ttl_s), number(&Config::refresh_token_ttl_s, 60, 31536000, " s")},
        {"refresh-grace", "S", "Authentication",
         "a rotated refresh token may be used again within S seconds (a lost response); later reuse revokes the "
         "session (0-60)",
         show(&Config::refresh_grace_s), number(&Config::refresh_grace_s, 0, 60, " s")},
        {"max-connections-per-user", "N", "Authentication", "open sockets per user (1-1000000)",
         show(&Config::max_connections_per_user), number(&Config::max_connections_per_user, 1, 1000000)},
        {"max-connections-per-ip", "N", "Authentication", "open sockets per client IP address (1-1000000)",
         show(&Config::max_connections_per_ip), number(&Config::max_connections_per_ip, 1, 1000000)},
        {"max-unauthenticated", "N", "Authentication",
         "HTTP connections that have not (yet) become authenticated sockets (1-1000000)",
         show(&Config::max_unauthenticated), number(&Config::max_unauthenticated, 1, 1000000)},
        {"auth-rate-limit", "N", "Authentication",
         "requests to /auth/* per client IP address per minute; more get 429 (1-100000)",
         show(&Config::auth_rate_limit), number(&Config::auth_rate_limit, 1, 100000)},

        {"log-level", "LEVEL", "Lifecycle",
         "least severe log level written to stderr (one JSON object per line): debug, info, warn or error",
         [](const Config &c) { return c.log_level; },
         [](Config &c, std::string_view v) -> std::string {
             LogLevel level;
             if (!parse_log_level(v, level)) return quoted(v) + " is not a log level (debug, info, warn, error)";
             c.log_level = std::string(v);
             return "";
         }},
    };
    return table;
}

const Flag *find_flag(std::string_view name) {
    for (const Flag &f : flags()) {
        if (name == f.name) return &f;
    }
    return nullptr;
}

// Line-wraps text at width columns, each line indented by indent spaces.
void wrap(std::string &out, std::string_view text, std::size_t indent, std::size_t width) {
    std::size_t col = 0;
    while (!text.empty()) {
        std::size_t space = text.find(' ');
        std::string_view word = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
        if (col > 0 && col + 1 + word.size() > width) {
            out += '\n';
            col = 0;
        }
        if (col == 0) {
            out.append(indent, ' ');
            col = indent;
        } else {
            out += ' ';
            ++col;
        }
        out += word;
        col += word.size();
    }
    out += '\n';
}

} // namespace

std::string config_help() {
    std::string out =
        "usage: collab-bridge [FLAGS]\n"
        "\n"
        "collab-bridge serves pg_collab documents to ShareDB clients over WebSocket (ShareDB protocol 1.2), with\n"
        "/healthz, /readyz, /metrics and GET /docs/COLLECTION/ID on the same port.\n"
        "\n"
        "Each flag is given as --name VALUE or --name=VALUE. Each can also be set with the environment variable\n"
        "shown; a flag on the command line wins over the variable.\n";
    const Config defaults;
    std::string section;
    for (const Flag &f : flags()) {
        if (section != f.section) {
            section = f.section;
            out += "\n" + section + ":\n";
        }
        out += "  --" + std::string(f.name) + (f.boolean ? "" : " ") + f.arg + "\n";
        wrap(out,
             std::string(f.help) + ". Environment: " + env_name(f.name) + ". Default: " + f.show_default(defaults) +
                 ".",
             6, 100);
    }
    out += "\nOther:\n  --help, -h\n      print this text and exit.\n"
           "\nWithout --db (and COLLAB_BRIDGE_DB), the database connection comes from libpq's own environment\n"
           "variables: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (better: PGPASSFILE), PGSSLMODE, and the others\n"
           "libpq documents. The login role needs the collab_bridge role: GRANT collab_bridge TO your_login;\n";
    return out;
}

ConfigStatus try_parse_config(int argc, char **argv, Config &out, std::string &error) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") return ConfigStatus::Help;
    }
    Config c;
    // Environment first (empty variables count as unset), then flags.
    for (const Flag &f : flags()) {
        std::string env = env_name(f.name);
        const char *v = std::getenv(env.c_str());
        if (v == nullptr || *v == '\0') continue;
        std::string err = f.set(c, v);
        if (!err.empty()) {
            error = env + ": " + err;
            return ConfigStatus::Error;
        }
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (!a.starts_with("--") || a.size() == 2) {
            error = "unexpected argument " + quoted(a) + " (flags look like --name VALUE)";
            return ConfigStatus::Error;
        }
        std::string_view name = a.substr(2), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        const Flag *f = find_flag(name);
        if (f == nullptr) {
            error = "unknown flag --" + std::string(name);
            return ConfigStatus::Error;
        }
        if (!has_value && f->boolean) {
            value = "true";
            has_value = true;
        }
        if (!has_value) {
            if (i + 1 >= argc) {
                error = "--" + std::string(name) + " needs a value (" + f->arg + ")";
                return ConfigStatus::Error;
            }
            value = argv[++i];
        }
        std::string err = f->set(c, value);
        if (!err.empty()) {
            error = "--" + std::string(name) + ": " + err;
            return ConfigStatus::Error;
        }
    }
    if (c.idle_timeout_s <= c.ping_interval_s) {
        error = "--idle-timeout (" + std::to_string(c.idle_timeout_s) + ") must be greater than --ping-interval (" +
                std::to_string(c.ping_interval_s) + "): a socket is pinged after --ping-interval idle seconds and " +
                "closed when no pong came within --idle-timeout";
        return ConfigStatus::Error;
    }
    const bool external_keys = !c.jwt_hs256_secret_file.empty() || !c.jwt_public_key_file.empty() ||
                               !c.jwt_jwks_file.empty() || !c.jwt_hs256_secret_env.empty() ||
                               !c.jwt_public_key_env.empty();
    if (external_keys && (c.jwt_issuer.empty() || c.jwt_audience.empty())) {
        error = "tokens of an external issuer (--jwt-hs256-secret-file/-env, --jwt-public-key-file/-env, "
                "--jwt-jwks-file) are only accepted with --jwt-issuer and --jwt-audience: give both, as your identity "
                "provider issues them";
        return ConfigStatus::Error;
    }
    if (c.db.backoff_min_ms > c.db.backoff_max_ms) {
        error = "--db-backoff-min-ms (" + std::to_string(c.db.backoff_min_ms) +
                ") must not be greater than --db-backoff-max-ms (" + std::to_string(c.db.backoff_max_ms) + ")";
        return ConfigStatus::Error;
    }
    out = std::move(c);
    return ConfigStatus::Ok;
}

Config parse_config(int argc, char **argv) {
    Config c;
    std::string error;
    switch (try_parse_config(argc, argv, c, error)) {
    case ConfigStatus::Ok:
        return c;
    case ConfigStatus::Help: {
        std::string help = config_help();
        std::fwrite(help.data(), 1, help.size(), stdout);
        std::fflush(stdout);
        std::exit(0);
    }
    case ConfigStatus::Error:
        break;
    }
    std::fprintf(stderr, "collab-bridge: %s\nRun 'collab-bridge --help' for the list of flags.\n", error.c_str());
    std::exit(2);
}

} // namespace collab::bridge
