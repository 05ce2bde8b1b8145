// collab-bridge: the database layer. A pool of libpq connections on worker threads plus one LISTEN connection on
// its own thread. Results, notifications and feed state changes are queued and handed to the event loop thread,
// which calls drain() when woken (the wake function calls lws_cancel_service()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace collab::bridge {

struct DbResult {
    bool ok = false;
    // On failure: the SQLSTATE ("PC002", or "08006" and friends when the connection failed) and the message.
    // connection_lost is true when the query's fate is unknown (the connection broke while it ran).
    std::string sqlstate;
    std::string message;
    std::string detail; // the server's DETAIL and HINT, when it sent them
    std::string hint;
    bool connection_lost = false;
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows; // text values; nullopt = SQL NULL
    // Index of a column by name, or -1.
    int column(std::string_view name) const;
};

using DbParams = std::vector<std::optional<std::string>>;
using DbCallback = std::function<void(DbResult &&)>;

struct DbConfig {
    std::string conninfo; // libpq conninfo; empty = libpq's PG* environment variables
    int pool_size = 4;    // query connections
    std::string application_name = "collab-bridge";
    std::vector<std::string> listen_channels{"collab", "collab_presence", "collab_auth"}; // feed, presence, auth
    int backoff_min_ms = 100; // reconnect backoff: jittered exponential between these
    int backoff_max_ms = 5000;
    int connect_timeout_ms = 10000;  // one connection attempt (libpq's connect_timeout does not apply: async connect)
    int unavailable_after_ms = 5000; // no pool connection for this long: queued and new queries fail with 08006
    std::size_t max_queued_notifications = 100000; // undrained notifications beyond this are dropped and reported as
                                                   // a feed loss + recovery (on_feed_state false, then true)
};

class Database {
  public:
    // wake() is called from database threads whenever drain() has work; it must be safe to call from any thread.
    Database(DbConfig config, std::function<void()> wake);
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    // Loop thread only. Handlers run inside drain().
    void on_notification(std::function<void(const std::string &channel, const std::string &payload)> handler);
    // Called with true each time the LISTEN connection is (re)established and listening, false when it is lost (and
    // false then true when undrained notifications overflowed max_queued_notifications): resync after each true.
    void on_feed_state(std::function<void(bool up)> handler);

    void start();
    // Queues one statement (extended protocol, text parameters and results). The callback runs on the loop thread,
    // in drain(). Queries are executed in queue order by the first free pool connection. With affinity >= 0 the
    // statement waits for pool connection (affinity % pool_size) while that connection is up, and goes to any other
    // while it is down: giving a document's submits the same affinity keeps them on one backend, whose document
    // cache then stays current (no catch-up reads of ops committed through other connections).
    void query(std::string sql, DbParams params, DbCallback callback, int affinity = -1);
    // Runs queued callbacks, notifications and state changes. Loop thread only.
    void drain();

    bool pool_ready() const;       // at least one pool connection is up
    bool feed_ready() const;       // the LISTEN connection is up and listening
    std::size_t queued() const;    // waiting for a connection
    std::size_t in_flight() const; // queued + executing + completed but not yet drained

    // Stops accepting queries, lets queued and executing queries finish (their callbacks still run in drain()),
    // then closes every connection and joins the threads. Blocks at most timeout_ms.
    void stop(int timeout_ms);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace collab::bridge
