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
    std::string web_root;           // --web-root DIR         static files (empty: none)
};

// Parses argv and the environment. Prints --help and exits 0; on a bad flag prints what was wrong and exits 2.
Config parse_config(int argc, char **argv);
std::string config_help();

// The same without printing or exiting (for tests and embedding): fills out, or sets error to what was wrong.
enum class ConfigStatus { Ok, Help, Error };
ConfigStatus try_parse_config(int argc, char **argv, Config &out, std::string &error);

} // namespace collab::bridge
