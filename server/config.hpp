// collab-bridge: configuration from command-line flags and environment variables (flags win). `--help` lists all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "db.hpp"

namespace collab::bridge {

struct Config {
    std::string host = "127.0.0.1"; // --host ADDR            COLLAB_BRIDGE_HOST
    int port = 8080;                // --port N               COLLAB_BRIDGE_PORT
    DbConfig db;                    // --db CONNINFO (else PGHOST, PGPORT, PGDATABASE, PGUSER...), --pool-size N,
                                    // --db-backoff-min-ms N, --db-backoff-max-ms N, --db-connect-timeout-ms N
    int batch_window_us = 1000;     // --batch-window-us N    group commit: wait this long for more submits
    int batch_max_ops = 256;        // --batch-max-ops N      ... or until this many are waiting
    std::size_t max_message_bytes = 1 << 20; // --max-message-bytes N   larger messages: close 1009
    std::size_t max_queue_messages = 2000;   // --max-queue-messages N  per-socket outbound queue; over: close 4008
    std::size_t max_queue_bytes = 16u << 20; // --max-queue-bytes N
    int max_subscriptions = 1000;            // --max-subscriptions N  per socket
    int rate_limit_per_second = 200;         // --rate-limit N         messages per socket per second (burst: 2x)
    int ping_interval_s = 30;                // --ping-interval S      WebSocket ping after S idle seconds
    int idle_timeout_s = 40;        // --idle-timeout S       close when no pong within S seconds of the last one
    int drain_timeout_s = 10;       // --drain-timeout S      SIGTERM: time to finish in-flight commits
    std::string log_level = "info"; // --log-level LEVEL      debug, info, warn, error
    // --event-loop LOOP  ev (libev with epoll) or poll (libwebsockets' own poll() loop); docs/bridge.md
    std::string event_loop = "ev";
    std::string web_root; // --web-root DIR         the web editor's files (web/dist), on GET

    // Authentication (docs/security.md). Without --insecure-no-auth every socket needs a valid access token.
    std::string jwt_hs256_secret_file;        // --jwt-hs256-secret-file FILE
    std::string jwt_public_key_file;          // --jwt-public-key-file FILE (PEM: RS256 or ES256)
    std::string jwt_jwks_file;                // --jwt-jwks-file FILE
    std::string jwt_hs256_secret_env;         // --jwt-hs256-secret-env VAR  the secret in an environment variable
    std::string jwt_public_key_env;           // --jwt-public-key-env VAR    a PEM public key in an environment variable
    std::string jwt_issuer;                   // --jwt-issuer ISS       required with an external key
    std::string jwt_audience;                 // --jwt-audience AUD     required with an external key
    std::string jwt_org_claim = "org";        // --jwt-org-claim NAME   the claim naming the user's organization
    std::vector<std::string> allowed_origins; // --allowed-origin ORIGIN (repeatable; exact match)
    bool insecure_no_auth = false;            // --insecure-no-auth     every socket acts as user "anonymous"
    bool dev_login = false;                   // --dev-login            POST /auth/dev-login (needs pg_collab.dev_login)
    bool insecure_cookies = false;            // --insecure-cookies     cookies without Secure (http://localhost)
    int access_token_ttl_s = 900;             // --access-token-ttl S
    int refresh_token_ttl_s = 1209600;        // --refresh-token-ttl S
    int refresh_grace_s = 10;                 // --refresh-grace S
    int max_connections_per_user = 100;       // --max-connections-per-user N
    int max_connections_per_ip = 2000;        // --max-connections-per-ip N
    int max_unauthenticated = 1000;           // --max-unauthenticated N  HTTP connections not (yet) upgraded
    int auth_rate_limit = 30;                 // --auth-rate-limit N    /auth/* requests per IP per minute
};

// Parses argv and the environment. Prints --help and exits 0; on a bad flag prints what was wrong and exits 2.
Config parse_config(int argc, char **argv);
std::string config_help();

// The same without printing or exiting (for tests and embedding): fills out, or sets error to what was wrong.
enum class ConfigStatus { Ok, Help, Error };
ConfigStatus try_parse_config(int argc, char **argv, Config &out, std::string &error);

} // namespace collab::bridge
