// collab-bridge: the protocol engine. It owns the sessions (one per WebSocket), the per-document feeds, the
// group-commit batcher and presence. It never touches a socket: the server layer (server.cpp) hands it complete text
// messages and asks it for the next message to write, through the Transport interface. Loop thread only.
#pragma once

#include <jansson.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.hpp"
#include "db.hpp"
#include "ids.hpp"
#include "metrics.hpp"

namespace collab::bridge {

using SessionId = std::uint64_t;
using Clock = std::chrono::steady_clock;

// What the engine needs from the WebSocket layer.
class Transport {
  public:
    virtual ~Transport() = default;
    // The session has messages queued: ask for a writable callback.
    virtual void request_write(SessionId id) = 0;
    // Close the socket with a WebSocket close code and reason (after already queued messages are written).
    virtual void close(SessionId id, int code, const std::string &reason) = 0;
    // Run fn on the loop thread after delay_us (used for the group-commit window).
    virtual void schedule(std::int64_t delay_us, std::function<void()> fn) = 0;
};

// WebSocket close codes used by the bridge (docs/bridge.md).
constexpr int kCloseServiceRestart = 1012; // draining; reconnect elsewhere
constexpr int kCloseInternalError = 1011;  // a commit's outcome is unknown; reconnect and resubmit
constexpr int kCloseSlowConsumer = 4008;   // outbound queue overflow
constexpr int kCloseTokenExpired = 4001;   // the access token expired: refresh it and reconnect
constexpr int kCloseRevoked = 4003;        // the user or session was revoked, or the token is no longer valid

// Who a socket acts for: the verified access token's subject and organization.
struct Identity {
    std::string user;     // the token's sub ("anonymous" with --insecure-no-auth)
    std::string org;      // empty: no organization
    std::string sid, jti; // session id (built-in tokens) and token id, for revocation
    std::int64_t iat = 0; // issued at (Unix seconds), for user revocation
    std::int64_t exp = 0; // expiry (Unix seconds); 0: none (--insecure-no-auth)
    std::string ip;       // the client's address
};

struct JsonDeleter {
    void operator()(json_t *j) const noexcept { json_decref(j); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

class Bridge {
  public:
    Bridge(const Config &config, Database &db, Transport &transport, Metrics &metrics);
    ~Bridge();

    // Loads the client-id secret and the SQLSTATE -> ShareDB code table; retried until the database answers.
    void start();
    bool ready() const; // client ids and error codes loaded

    void open_session(SessionId id, Identity identity);
    const Identity *identity(SessionId id) const;
    // collab_auth notifications other than ACL changes ("keys", "revocation:N") go to this handler.
    void on_auth_event(std::function<void(const std::string &payload)> handler) { auth_event_ = std::move(handler); }
    // Verifies a fresh token sent on an open socket ({"a": "auth"}) for the same user and organization: fills
    // identity (with the socket's address), or returns what is wrong.
    using Reauthenticate = std::function<std::string(SessionId, const std::string &token, Identity &identity)>;
    void on_reauthenticate(Reauthenticate fn) { reauthenticate_ = std::move(fn); }
    // Rights changed: re-check every open subscription and presence channel; end the ones that lost their right.
    void recheck_access();
    void close_session(SessionId id);
    void on_message(SessionId id, std::string_view text);
    void on_binary_message(SessionId id);
    // The next message to write to the socket, if any.
    std::optional<std::string> next_outgoing(SessionId id);
    bool has_outgoing(SessionId id) const;

    void on_notification(const std::string &channel, const std::string &payload);
    void on_feed_state(bool up);

    // Draining: stop taking submits from the batcher's point of view once everything queued is sent.
    void begin_drain();
    bool drained() const; // no submit waiting in the batcher or in the database
    std::size_t session_count() const { return sessions_.size(); }
    void close_all(int code, const std::string &reason);

    // GET /docs/<collection>/<id>: fetch the snapshot and call back with (status, etag, body).
    void http_snapshot(const Identity &who, const std::string &collection, const std::string &id,
                       std::function<void(int status, std::int64_t version, std::string body)> done);
    // GET /api/documents: {"collection", "documents": [{"id", "type", "version", "updated_at"}]}, the documents
    // of the collection the user may read, most recently changed first (collab.list_documents).
    void http_list_documents(const Identity &who, const std::string &collection,
                             std::function<void(int status, std::string body)> done);

  private:
    struct DocState;
    struct Session;
    struct Feed;
    struct FeedOp;
    struct PendingSubmit;
    struct PresenceTarget;

    // messages
    void dispatch(Session &s, json_t *msg);
    void handle_handshake(Session &s, json_t *msg);
    void handle_fetch_or_subscribe(Session &s, json_t *msg, bool subscribe);
    void handle_unsubscribe(Session &s, json_t *msg);
    void handle_bulk(Session &s, json_t *msg, char kind);
    void handle_op(Session &s, json_t *msg);
    void handle_snapshot_request(Session &s, json_t *msg, bool by_time);
    void handle_presence_subscribe(Session &s, json_t *msg, bool subscribe);
    void handle_presence(Session &s, json_t *msg);
    void handle_presence_request(Session &s, json_t *msg);
    void handle_reauth(Session &s, json_t *msg);

    // replies
    void send(Session &s, json_t *msg);
    void enqueue(Session &s, std::string text);
    void send_error(Session &s, json_t *request, const std::string &code, const std::string &message);
    void reply(Session &s, json_t *request, json_t *fields);
    std::string sharedb_code(const std::string &sqlstate) const;

    // documents and feeds
    Feed &feed(const std::string &c, const std::string &d);
    void release_feed_if_unused(const std::string &key);
    static void make_wire(const std::string &c, const std::string &d, FeedOp &op);
    void ingest(Feed &f, std::vector<FeedOp> ops, std::int64_t current_version, bool complete);
    void pump(Session &s, const std::string &key);
    void pump_feed(Feed &f);
    void send_op(Session &s, const std::string &c, const std::string &d, const FeedOp &op);
    void request_refill(Session &s, const std::string &key);
    void schedule_feed_fetch(Feed &f);
    void flush_feed_fetches();
    void subscribe_doc(Session &s, const std::string &c, const std::string &d);
    void unsubscribe_doc(Session &s, const std::string &c, const std::string &d);
    void fetch_snapshots(Session &s, const std::string &c, const std::vector<std::string> &ids,
                         std::function<void(Session &, json_t *data_by_id)> done);
    void catch_up(Session &s, const std::string &c, const std::vector<std::pair<std::string, std::int64_t>> &docs,
                  bool subscribe, std::function<void(Session &)> done);

    // group commit
    void flush_batch();
    void forget_awaited(Session &s, const PendingSubmit &p);
    void send_shard(std::size_t shard);
    void on_batch_result(std::size_t shard, std::vector<PendingSubmit> batch, DbResult &&result);

    // presence
    void publish_presence(const std::string &channel, json_t *message, const std::string &origin_src,
                          SessionId origin_session);
    void deliver_presence(const std::string &channel, json_t *message, const std::string &origin_src,
                          SessionId origin_session);
    void flush_presence();
    void retract_presence(Session &s, const std::string &channel);

    Session *find(SessionId id);
    void load_settings();
    static Json actor(const Identity &who);
    // The key a presence channel is relayed under: ShareDB's document channels ("collection.id") as they are (reading
    // them needs the viewer right), other channels within the user's organization.
    static std::string presence_key(const Session &s, const std::string &channel);
    // Runs fn if the session may use the presence channel (checked once per channel), else answers request with an
    // error.
    void authorize_channel(Session &s, json_t *request, const std::string &channel, std::function<void(Session &)> fn);
    void lose_read_access(Session &s, const std::string &c, const std::string &d);
    std::function<void(const std::string &)> auth_event_;
    Reauthenticate reauthenticate_;

    const Config &config_;
    Database &db_;
    Transport &transport_;
    Metrics &metrics_;
    ClientIds ids_;
    std::string instance_id_;                        // this bridge process, to ignore its own presence NOTIFYs
    std::map<std::string, std::string> error_codes_; // SQLSTATE -> ShareDB code
    bool settings_loaded_ = false;
    bool draining_ = false;

    std::unordered_map<SessionId, std::unique_ptr<Session>> sessions_;
    std::unordered_map<std::string, std::unique_ptr<Feed>> feeds_; // by doc key
    std::set<std::string> feeds_to_fetch_;
    std::set<std::string> hinted_; // documents a NOTIFY said moved, checked after a short delay
    bool hint_timer_ = false;
    bool feed_fetch_scheduled_ = false;
    bool feed_fetch_in_flight_ = false;

    std::vector<PendingSubmit> batch_;
    bool batch_timer_ = false;
    // Submits wait per pool connection (shard = hash of the document): while a shard's transaction runs, the next
    // ones gather here and go together when it ends (group commit that grows with the load).
    std::vector<std::vector<PendingSubmit>> shard_waiting_;
    std::vector<char> shard_busy_;
    std::size_t submits_in_flight_ = 0;
    std::unordered_map<std::string, int> submitting_; // documents -> our submits committing now

    std::vector<std::string> presence_out_; // NOTIFY payloads waiting to be sent
    bool presence_timer_ = false;
    bool recheck_scheduled_ = false;
    std::map<std::string, std::set<SessionId>> presence_subscribers_; // channel -> sessions
};

} // namespace collab::bridge
