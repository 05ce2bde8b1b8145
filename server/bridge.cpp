#include "bridge.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "json.hpp"
#include "log.hpp"

namespace collab::bridge {

namespace {

constexpr const char *kJsonTypeUri = "http://sharejs.org/types/JSONv0";
constexpr const char *kPresenceChannel = "collab_presence";
constexpr const char *kAuthChannel = "collab_auth"; // rights changed ("acl"), keys rotated ("keys"), "revocation:N"
constexpr std::size_t kFeedKeepOps = 512;           // recent ops kept per document feed
constexpr std::size_t kFeedKeepBytes = 4u << 20;    // ... and at most this many bytes of them
constexpr int kMaxOpsPerQuery = 1000;               // collab.ops_many()'s max_ops_per_document
constexpr std::size_t kMaxDeferred = 256;           // messages held while the bridge loads its settings
constexpr std::size_t kMaxPresenceBytes = 7000;     // NOTIFY payloads are limited to 8000 bytes
constexpr double kMaxSeq = 9007199254740991.0;      // 2^53 - 1
constexpr std::int64_t kHintDelayUs = 2000;         // how long a NOTIFY hint waits for our own batch result

Json own(json_t *j) {
    if (j == nullptr) throw std::bad_alloc();
    return Json(j);
}
Json ref(json_t *j) { return Json(json_incref(j)); }
// A shared reference, for values captured by callbacks (std::function needs copyable captures).
std::shared_ptr<json_t> share(json_t *j) { return std::shared_ptr<json_t>(json_incref(j), json_decref); }
json_t *new_object() { return json_pack("{}"); } // jansson's json_object() is shadowed inside PostgreSQL builds

// Numbers as JavaScript reads and prints them, like the extension (extension/core/json.hpp).
std::string dump(const json_t *j) { return collab::json_dump(j); }

Json parse(std::string_view text) {
    json_error_t err;
    return Json(collab::json_load_any(text, err));
}

const char *str(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : nullptr;
}

bool truthy(const json_t *v) {
    if (v == nullptr || json_is_null(v) || json_is_false(v)) return false;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_real(v)) return json_real_value(v) != 0;
    return true;
}

// A JSON number that is a non-negative integer (JavaScript clients send integral numbers; reals like 3.0 count).
bool as_version(const json_t *v, std::int64_t &out) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && std::floor(json_real_value(v)) == json_real_value(v) &&
        json_real_value(v) <= kMaxSeq) {
        out = static_cast<std::int64_t>(json_real_value(v));
        return true;
    }
    return false;
}

std::string doc_key(const std::string &c, const std::string &d) { return c + '\0' + d; }

// An optional non-negative integer field (a version, a timestamp): absent or null gives -1. False when malformed.
bool optional_count(const json_t *msg, const char *key, std::int64_t &out) {
    const json_t *v = json_object_get(msg, key);
    out = -1;
    return v == nullptr || json_is_null(v) || as_version(v, out);
}

std::int64_t to_int(const std::optional<std::string> &s) { return s ? std::stoll(*s) : -1; }

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// State

struct Bridge::FeedOp {
    std::int64_t v = 0;
    std::string op_json; // as stored: an edit array, {"create": {...}} or {"del": true}
    std::optional<std::string> src;
    std::optional<std::int64_t> seq;
    std::string wire; // the broadcast message
    Clock::time_point seen;
};

struct Bridge::DocState {
    std::string c, d;
    bool subscribed = false;
    std::int64_t next = -1; // next version to send on the stream; -1 until known
    bool refilling = false;
    std::vector<std::function<void(Session &)>> after_refill;
    // Ops this socket submitted that are not acknowledged yet. When the stream reaches one of them it is sent as the
    // ack {a:'op', c, d, src, seq, v} rather than as the op.
    struct Awaited {
        std::string src;
        std::int64_t seq;
    };
    std::vector<Awaited> awaiting;
    bool take_awaited(const std::string &src, std::int64_t seq) {
        for (auto it = awaiting.begin(); it != awaiting.end(); ++it)
            if (it->seq == seq && it->src == src) {
                awaiting.erase(it);
                return true;
            }
        return false;
    }
    bool idle() const { return !subscribed && !refilling && awaiting.empty() && after_refill.empty(); }
};

struct Bridge::Session {
    SessionId id = 0;
    Identity identity;
    std::string client_id;
    std::map<std::string, bool> channel_rights; // document presence channels checked: may read?
    std::set<std::string> read_denied;          // documents whose catch-up was refused (while its waiters reply)
    std::deque<std::string> out;
    std::size_t out_bytes = 0;
    bool closing = false;
    std::deque<std::string> deferred; // messages received before the bridge was ready
    std::unordered_map<std::string, DocState> docs;
    int subscriptions = 0;
    std::set<std::string> presence_channels;
    std::map<std::string, std::map<std::string, Json>> presence_sent; // channel -> presence id -> last message
};

struct Bridge::Feed {
    std::string c, d, key;
    std::int64_t latest = -1; // every op below this version is known (recent holds the newest of them)
    std::int64_t hinted = -1; // highest version a notification announced before latest was known
    std::deque<FeedOp> recent;
    std::size_t recent_bytes = 0;
    std::set<SessionId> subscribers;
};

struct Bridge::PendingSubmit {
    SessionId session;
    Json request; // the client's message, echoed back on error
    std::string c, d, src;
    std::optional<std::int64_t> seq;
    Json db_request;
    Clock::time_point received;
};

Bridge::Bridge(const Config &config, Database &db, Transport &transport, Metrics &metrics)
    : config_(config), db_(db), transport_(transport), metrics_(metrics) {
    unsigned char r[8];
    if (RAND_bytes(r, sizeof(r)) != 1) throw std::runtime_error("RAND_bytes failed");
    static const char digits[] = "0123456789abcdef";
    for (unsigned char b : r) {
        instance_id_ += digits[b >> 4];
        instance_id_ += digits[b & 0xF];
    }
}

Bridge::~Bridge() = default;

bool Bridge::ready() const { return settings_loaded_; }

Bridge::Session *Bridge::find(SessionId id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() || it->second->closing ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------------------------------
// Startup

void Bridge::start() { load_settings(); }

void Bridge::load_settings() {
    db_.query(
        "SELECT 'secret', collab.bridge_client_id_secret() UNION ALL "
        "SELECT sqlstate, sharedb_code FROM collab.error_codes()",
        {}, [this](DbResult &&r) {
            if (!r.ok) {
                log_event(LogLevel::Warn, "settings_unavailable", {{"sqlstate", r.sqlstate}, {"message", r.message}});
                transport_.schedule(1000000, [this] { load_settings(); });
                return;
            }
            for (const auto &row : r.rows) {
                if (!row[0] || !row[1]) continue;
                if (*row[0] == "secret")
                    ids_.set_secret(*row[1]);
                else
                    error_codes_[*row[0]] = *row[1];
            }
            settings_loaded_ = ids_.ready();
            if (!settings_loaded_) {
                log_event(LogLevel::Error, "settings_missing",
                          {{"message", "collab.bridge_client_id_secret() returned nothing; is the extension "
                                       "pg_collab 0.1.0 installed?"}});
                transport_.schedule(5000000, [this] { load_settings(); });
                return;
            }
            log_event(LogLevel::Info, "settings_loaded",
                      {{"error_codes", static_cast<std::int64_t>(error_codes_.size())}});
            for (auto &[id, s] : sessions_) {
                if (s->client_id.empty()) s->client_id = ids_.issue(s->identity.user);
                std::deque<std::string> deferred;
                deferred.swap(s->deferred);
                for (const std::string &m : deferred)
                    on_message(id, m);
            }
        });
}

std::string Bridge::sharedb_code(const std::string &sqlstate) const {
    auto it = error_codes_.find(sqlstate);
    if (it != error_codes_.end()) return it->second;
    if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
        return "ERR_DATABASE_UNAVAILABLE";
    return "ERR_UNKNOWN_ERROR";
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions and sending

void Bridge::open_session(SessionId id, Identity identity) {
    auto s = std::make_unique<Session>();
    s->id = id;
    s->identity = std::move(identity);
    if (settings_loaded_) s->client_id = ids_.issue(s->identity.user);
    sessions_[id] = std::move(s);
    metrics_.connections = static_cast<std::int64_t>(sessions_.size());
    ++metrics_.connections_total;
}

void Bridge::close_session(SessionId id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session &s = *it->second;
    s.closing = true;
    std::vector<std::string> channels;
    for (const auto &[ch, ids] : s.presence_sent)
        channels.push_back(ch);
    for (const std::string &ch : channels)
        retract_presence(s, ch);
    for (const std::string &ch : s.presence_channels) {
        auto p = presence_subscribers_.find(ch);
        if (p == presence_subscribers_.end()) continue;
        p->second.erase(id);
        if (p->second.empty()) presence_subscribers_.erase(p);
    }
    std::vector<std::string> keys;
    for (const auto &[key, st] : s.docs)
        if (st.subscribed) keys.push_back(key);
    for (const std::string &key : keys) {
        DocState &st = s.docs[key];
        unsubscribe_doc(s, st.c, st.d);
    }
    sessions_.erase(it);
    metrics_.connections = static_cast<std::int64_t>(sessions_.size());
}

void Bridge::send(Session &s, json_t *msg) { enqueue(s, dump(msg)); }

void Bridge::enqueue(Session &s, std::string text) {
    if (s.closing) return;
    s.out_bytes += text.size();
    s.out.push_back(std::move(text));
    ++metrics_.messages_sent;
    if (s.out.size() > config_.max_queue_messages || s.out_bytes > config_.max_queue_bytes) {
        // A slow consumer: drop what is queued and close; the client reconnects and resyncs from its versions.
        ++metrics_.slow_consumers_closed;
        log_event(LogLevel::Warn, "slow_consumer_closed",
                  {{"session", static_cast<std::int64_t>(s.id)}, {"queued", static_cast<std::int64_t>(s.out.size())}});
        s.out.clear();
        s.out_bytes = 0;
        s.closing = true;
        transport_.close(s.id, kCloseSlowConsumer, "outbound queue full: reconnect");
        return;
    }
    transport_.request_write(s.id);
}

std::optional<std::string> Bridge::next_outgoing(SessionId id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second->out.empty()) return std::nullopt;
    Session &s = *it->second;
    std::string text = std::move(s.out.front());
    s.out.pop_front();
    s.out_bytes -= text.size();
    return text;
}

bool Bridge::has_outgoing(SessionId id) const {
    auto it = sessions_.find(id);
    return it != sessions_.end() && !it->second->out.empty();
}

void Bridge::reply(Session &s, json_t *request, json_t *fields) {
    Json msg = own(fields);
    json_object_set(msg.get(), "a", json_object_get(request, "a"));
    const json_t *id = json_object_get(request, "id");
    if (truthy(id)) {
        json_object_set(msg.get(), "id", const_cast<json_t *>(id));
    } else {
        for (const char *k : {"c", "d"})
            if (json_t *v = json_object_get(request, k)) json_object_set(msg.get(), k, v);
        if (json_object_get(msg.get(), "data") == nullptr)
            if (json_t *b = json_object_get(request, "b")) json_object_set(msg.get(), "b", b);
    }
    send(s, msg.get());
}

void Bridge::send_error(Session &s, json_t *request, const std::string &code, const std::string &message) {
    ++metrics_.errors_by_code[code];
    Json msg = request != nullptr && json_is_object(request) ? own(json_deep_copy(request)) : own(new_object());
    json_object_set_new(
        msg.get(), "error",
        json_pack("{s:s%,s:s%}", "code", code.data(), code.size(), "message", message.data(), message.size()));
    send(s, msg.get());
}

// ---------------------------------------------------------------------------------------------------------------
// Incoming messages

void Bridge::on_binary_message(SessionId id) {
    Session *s = find(id);
    if (s == nullptr) return;
    ++metrics_.messages_received;
    send_error(*s, nullptr, "ERR_MESSAGE_BADLY_FORMED",
               "binary frames are not supported: send each message as one JSON object in a text frame");
}

void Bridge::on_message(SessionId id, std::string_view text) {
    Session *s = find(id);
    if (s == nullptr) return;
    if (!settings_loaded_) {
        if (s->deferred.size() >= kMaxDeferred) {
            send_error(*s, nullptr, "ERR_DATABASE_UNAVAILABLE", "the bridge is not ready yet; try again shortly");
            return;
        }
        s->deferred.emplace_back(text);
        return;
    }
    ++metrics_.messages_received;
    Json msg = parse(text);
    if (!msg) {
        send_error(*s, nullptr, "ERR_MESSAGE_BADLY_FORMED", "the message is not valid JSON");
        return;
    }
    if (!json_is_object(msg.get())) {
        send_error(*s, nullptr, "ERR_MESSAGE_BADLY_FORMED", "a message must be a JSON object with an action \"a\"");
        return;
    }
    try {
        dispatch(*s, msg.get());
    } catch (const std::exception &e) {
        log_event(LogLevel::Error, "message_failed", {{"message", e.what()}});
        if (Session *again = find(id)) send_error(*again, msg.get(), "ERR_UNKNOWN_ERROR", "internal error");
    }
}

void Bridge::dispatch(Session &s, json_t *msg) {
    const char *a = str(msg, "a");
    if (a == nullptr) {
        send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "missing action \"a\"");
        return;
    }
    const std::string_view action(a);
    if (action == "hs") return handle_handshake(s, msg);
    if (action == "f") return handle_fetch_or_subscribe(s, msg, false);
    if (action == "s") return handle_fetch_or_subscribe(s, msg, true);
    if (action == "u") return handle_unsubscribe(s, msg);
    if (action == "bf") return handle_bulk(s, msg, 'f');
    if (action == "bs") return handle_bulk(s, msg, 's');
    if (action == "bu") return handle_bulk(s, msg, 'u');
    if (action == "op") return handle_op(s, msg);
    if (action == "nf") return handle_snapshot_request(s, msg, false);
    if (action == "nt") return handle_snapshot_request(s, msg, true);
    if (action == "pp") return reply(s, msg, new_object());
    if (action == "ps") return handle_presence_subscribe(s, msg, true);
    if (action == "pu") return handle_presence_subscribe(s, msg, false);
    if (action == "p") return handle_presence(s, msg);
    if (action == "pr") return handle_presence_request(s, msg);
    if (action == "auth") return handle_reauth(s, msg);
    if (action == "qf" || action == "qs")
        return send_error(s, msg, "ERR_DATABASE_METHOD_NOT_IMPLEMENTED",
                          "queries (qf, qs) are not supported by collab-bridge; fetch documents by id, or query "
                          "collab.documents / collab.fetch() in SQL");
    if (action == "qu") return reply(s, msg, new_object());
    send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "unknown action \"" + std::string(action) + "\"");
}

// {"a": "auth", "token": "<fresh access token>"}: extends the socket's session past its token's expiry (a pg_collab
// extension of the protocol; the stock client reconnects instead). The token must be valid and name the same user.
void Bridge::handle_reauth(Session &s, json_t *msg) {
    const char *token = str(msg, "token");
    if (token == nullptr || *token == '\0')
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"token\" (a fresh access token) must be a string");
    if (!reauthenticate_) return send_error(s, msg, "ERR_AUTH", "this bridge does not take fresh tokens on a socket");
    Identity fresh;
    std::string error = reauthenticate_(s.id, token, fresh);
    if (!error.empty()) return send_error(s, msg, "ERR_AUTH", error);
    s.identity = fresh; // same user and organization: the hook refuses others
    Json fields = own(json_pack("{s:I}", "exp", static_cast<json_int_t>(fresh.exp)));
    reply(s, msg, fields.release());
}

void Bridge::handle_handshake(Session &s, json_t *msg) {
    const char *proposed = str(msg, "id");
    // A reconnecting client keeps its id only if it was issued to the same user (ids are bound to users).
    if (proposed != nullptr && ids_.verify(proposed, s.identity.user)) s.client_id = proposed;
    // Not reply(): its rule would copy the request's "id" (the proposed client id) over the issued one.
    Json hs = own(json_pack("{s:s,s:i,s:i,s:s,s:s}", "a", "hs", "protocol", 1, "protocolMinor", 2, "id",
                            s.client_id.c_str(), "type", kJsonTypeUri));
    send(s, hs.get());
}

namespace {
// Validates c and d of a document request; returns false after the caller sent the error.
bool doc_fields(const json_t *msg, std::string &c, std::string &d, std::string &problem) {
    const char *cs = str(msg, "c");
    const char *ds = str(msg, "d");
    if (cs == nullptr || *cs == '\0') {
        problem = "\"c\" (the collection) must be a non-empty string";
        return false;
    }
    if (ds == nullptr || *ds == '\0') {
        problem = "\"d\" (the document id) must be a non-empty string";
        return false;
    }
    if (std::strlen(cs) > 256 || std::strlen(ds) > 256) {
        problem = "\"c\" and \"d\" are limited to 256 bytes each";
        return false;
    }
    c = cs;
    d = ds;
    return true;
}
} // namespace

void Bridge::handle_fetch_or_subscribe(Session &s, json_t *msg, bool subscribe) {
    std::string c, d, problem;
    if (!doc_fields(msg, c, d, problem)) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", problem);
    std::int64_t version = -1;
    if (!optional_count(msg, "v", version))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"v\" must be null or a non-negative integer");
    if (subscribe) {
        DocState &st = s.docs[doc_key(c, d)];
        if (!st.subscribed && s.subscriptions >= config_.max_subscriptions)
            return send_error(s, msg, "ERR_TOO_MANY_SUBSCRIPTIONS",
                              "this connection already has " + std::to_string(s.subscriptions) +
                                  " subscriptions (the limit); unsubscribe from some documents first");
        subscribe_doc(s, c, d);
    }
    auto request = share(msg);
    if (version < 0) {
        fetch_snapshots(s, c, {d}, [this, request, c, d, subscribe](Session &s2, json_t *data) {
            json_t *snapshot = json_object_get(data, d.c_str());
            if (json_t *error = json_object_get(snapshot, "error")) {
                if (subscribe) unsubscribe_doc(s2, c, d);
                const char *code = str(error, "code");
                const char *message = str(error, "message");
                send_error(s2, request.get(), code != nullptr ? code : "ERR_UNKNOWN_ERROR",
                           message != nullptr ? message : "");
                return;
            }
            reply(s2, request.get(), json_pack("{s:O}", "data", snapshot));
        });
    } else {
        catch_up(s, c, {{d, version}}, subscribe, [this, request, key = doc_key(c, d)](Session &s2) {
            if (s2.read_denied.count(key) != 0)
                return send_error(s2, request.get(), "ERR_SNAPSHOT_READS_REJECTED",
                                  "this user may not read the document");
            reply(s2, request.get(), new_object());
        });
    }
}

void Bridge::handle_unsubscribe(Session &s, json_t *msg) {
    std::string c, d, problem;
    if (!doc_fields(msg, c, d, problem)) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", problem);
    unsubscribe_doc(s, c, d);
    reply(s, msg, new_object());
}

void Bridge::handle_bulk(Session &s, json_t *msg, char kind) {
    const char *c = str(msg, "c");
    json_t *b = json_object_get(msg, "b");
    if (c == nullptr || *c == '\0')
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"c\" (the collection) must be a non-empty string");
    std::vector<std::string> ids;
    std::vector<std::pair<std::string, std::int64_t>> versions;
    if (json_is_array(b)) {
        std::size_t i;
        json_t *v;
        json_array_foreach(b, i, v) {
            if (!json_is_string(v) || json_string_length(v) == 0)
                return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"b\" must hold document ids (strings)");
            ids.emplace_back(json_string_value(v));
        }
    } else if (json_is_object(b)) {
        const char *id;
        json_t *v;
        json_object_foreach(b, id, v) {
            std::int64_t version = 0;
            if (!json_is_null(v) && !as_version(v, version))
                return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"b\" maps ids to versions (integers or null)");
            versions.emplace_back(id, version);
        }
    } else {
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"b\" must be an array of ids or a map {id: version}");
    }
    const std::string coll(c);
    if (kind == 'u') {
        for (const std::string &id : ids)
            unsubscribe_doc(s, coll, id);
        for (const auto &[id, v] : versions)
            unsubscribe_doc(s, coll, id);
        return reply(s, msg, new_object());
    }
    if (kind == 's') {
        const std::size_t adding = ids.size() + versions.size();
        if (s.subscriptions + static_cast<int>(adding) > config_.max_subscriptions)
            return send_error(s, msg, "ERR_TOO_MANY_SUBSCRIPTIONS",
                              "subscribing to " + std::to_string(adding) +
                                  " more documents would exceed the limit of " +
                                  std::to_string(config_.max_subscriptions) + " per connection");
        for (const std::string &id : ids)
            subscribe_doc(s, coll, id);
        for (const auto &[id, v] : versions)
            subscribe_doc(s, coll, id);
    }
    auto request = share(msg);
    if (!ids.empty() || versions.empty()) {
        fetch_snapshots(s, coll, ids, [this, request](Session &s2, json_t *data) {
            reply(s2, request.get(), json_pack("{s:O}", "data", data));
        });
    } else {
        std::vector<std::string> keys;
        for (const auto &[d, v] : versions)
            keys.push_back(doc_key(coll, d));
        catch_up(s, coll, versions, kind == 's', [this, request, keys](Session &s2) {
            for (const std::string &key : keys)
                if (s2.read_denied.count(key) != 0)
                    return send_error(s2, request.get(), "ERR_SNAPSHOT_READS_REJECTED",
                                      "this user may not read every document of the request");
            reply(s2, request.get(), new_object());
        });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Feeds: per-document streams of committed ops

Bridge::Feed &Bridge::feed(const std::string &c, const std::string &d) {
    const std::string key = doc_key(c, d);
    auto it = feeds_.find(key);
    if (it != feeds_.end()) return *it->second;
    auto f = std::make_unique<Feed>();
    f->c = c;
    f->d = d;
    f->key = key;
    Feed &ref = *f;
    feeds_[key] = std::move(f);
    return ref;
}

void Bridge::release_feed_if_unused(const std::string &key) {
    auto it = feeds_.find(key);
    if (it != feeds_.end() && it->second->subscribers.empty()) {
        feeds_to_fetch_.erase(key);
        feeds_.erase(it);
    }
}

void Bridge::subscribe_doc(Session &s, const std::string &c, const std::string &d) {
    DocState &st = s.docs[doc_key(c, d)];
    st.c = c;
    st.d = d;
    if (st.subscribed) return;
    st.subscribed = true;
    st.next = -1;
    ++s.subscriptions;
    ++metrics_.subscriptions;
    feed(c, d).subscribers.insert(s.id);
}

void Bridge::unsubscribe_doc(Session &s, const std::string &c, const std::string &d) {
    const std::string key = doc_key(c, d);
    auto it = s.docs.find(key);
    if (it == s.docs.end() || !it->second.subscribed) return;
    it->second.subscribed = false;
    it->second.next = -1;
    --s.subscriptions;
    --metrics_.subscriptions;
    auto f = feeds_.find(key);
    if (f != feeds_.end()) f->second->subscribers.erase(s.id);
    release_feed_if_unused(key);
    if (it->second.idle()) s.docs.erase(it);
}

// The broadcast message of a committed op: {a:'op', c, d, v, src, seq} plus its op, create or del.
void Bridge::make_wire(const std::string &c, const std::string &d, FeedOp &op) {
    if (!op.wire.empty()) return;
    Json m = own(json_pack("{s:s,s:s%,s:s%,s:I}", "a", "op", "c", c.data(), c.size(), "d", d.data(), d.size(), "v",
                           static_cast<json_int_t>(op.v)));
    if (op.src) json_object_set_new(m.get(), "src", json_stringn(op.src->data(), op.src->size()));
    if (op.seq) json_object_set_new(m.get(), "seq", json_integer(*op.seq));
    Json body = parse(op.op_json);
    if (json_is_array(body.get())) {
        json_object_set(m.get(), "op", body.get());
    } else if (json_is_object(body.get())) {
        const char *k;
        json_t *v;
        json_object_foreach(body.get(), k, v) json_object_set(m.get(), k, v);
    }
    op.wire = dump(m.get());
}

void Bridge::ingest(Feed &f, std::vector<FeedOp> ops, std::int64_t current_version, bool complete) {
    for (FeedOp &op : ops) {
        if (f.latest < 0) f.latest = op.v;
        if (op.v < f.latest) continue; // already known
        if (op.v > f.latest) {         // a gap: read the missing ops from the op-log
            schedule_feed_fetch(f);
            break;
        }
        make_wire(f.c, f.d, op);
        f.recent_bytes += op.wire.size() + op.op_json.size();
        f.recent.push_back(std::move(op));
        f.latest = f.recent.back().v + 1;
    }
    if (current_version >= 0) {
        if (f.latest < 0 && complete) f.latest = current_version;
        if (current_version > f.latest && f.latest >= 0) schedule_feed_fetch(f);
    }
    while (f.recent.size() > kFeedKeepOps || (f.recent.size() > 1 && f.recent_bytes > kFeedKeepBytes)) {
        f.recent_bytes -= f.recent.front().wire.size() + f.recent.front().op_json.size();
        f.recent.pop_front();
    }
    if (f.hinted >= 0 && f.latest >= 0 && f.hinted > f.latest) schedule_feed_fetch(f);
}

void Bridge::send_op(Session &s, const std::string &c, const std::string &d, const FeedOp &op) {
    DocState *st = nullptr;
    auto it = s.docs.find(doc_key(c, d));
    if (it != s.docs.end()) st = &it->second;
    if (st != nullptr && op.src && op.seq && st->take_awaited(*op.src, *op.seq)) {
        Json ack = own(json_pack("{s:s,s:s%,s:s%,s:s%,s:I,s:I}", "a", "op", "c", c.data(), c.size(), "d", d.data(),
                                 d.size(), "src", op.src->data(), op.src->size(), "seq",
                                 static_cast<json_int_t>(*op.seq), "v", static_cast<json_int_t>(op.v)));
        send(s, ack.get());
        return;
    }
    metrics_.fanout_seconds.observe(std::chrono::duration<double>(Clock::now() - op.seen).count());
    enqueue(s, op.wire);
}

void Bridge::pump(Session &s, const std::string &key) {
    auto it = s.docs.find(key);
    if (it == s.docs.end()) return;
    DocState &st = it->second;
    if (!st.subscribed || st.next < 0 || st.refilling || s.closing) return;
    auto fi = feeds_.find(key);
    if (fi == feeds_.end()) return;
    Feed &f = *fi->second;
    while (f.latest >= 0 && st.next < f.latest) {
        if (f.recent.empty() || st.next < f.recent.front().v) {
            request_refill(s, key);
            return;
        }
        const FeedOp &op = f.recent[static_cast<std::size_t>(st.next - f.recent.front().v)];
        ++st.next;
        send_op(s, f.c, f.d, op);
        if (s.closing) return;
    }
}

void Bridge::pump_feed(Feed &f) {
    std::vector<SessionId> subs(f.subscribers.begin(), f.subscribers.end());
    const std::string key = f.key;
    for (SessionId id : subs)
        if (Session *s = find(id)) pump(*s, key);
}

namespace {
struct OpsRow {
    std::string c, d;
    std::int64_t current = 0;
    std::optional<std::int64_t> v;
    std::optional<std::string> op, src;
    std::optional<std::int64_t> seq;
    bool denied = false;
};

std::vector<OpsRow> ops_rows(const DbResult &r) {
    std::vector<OpsRow> rows;
    for (const auto &row : r.rows) {
        OpsRow o;
        o.c = row[0].value_or("");
        o.d = row[1].value_or("");
        o.current = to_int(row[2]);
        if (row[3]) o.v = std::stoll(*row[3]);
        o.op = row[4];
        o.src = row[5];
        if (row[6]) o.seq = std::stoll(*row[6]);
        o.denied = row.size() > 7 && row[7] && *row[7] == "t";
        rows.push_back(std::move(o));
    }
    return rows;
}

constexpr const char *kOpsManySql =
    "SELECT collection, id, current_version, version, op::text, src, seq, denied FROM collab.ops_many($1::jsonb, "
    "$2::int)";
} // namespace

// Reads the ops a session is missing for one document from the op-log and sends them in order.
void Bridge::request_refill(Session &s, const std::string &key) {
    DocState &st = s.docs[key];
    if (st.refilling) return;
    st.refilling = true;
    const std::int64_t from = st.next < 0 ? 0 : st.next;
    Json req = own(json_pack("[{s:s%,s:s%,s:I,s:o}]", "c", st.c.data(), st.c.size(), "d", st.d.data(), st.d.size(),
                             "from", static_cast<json_int_t>(from), "a", actor(s.identity).release()));
    const SessionId sid = s.id;
    db_.query(kOpsManySql, {dump(req.get()), std::to_string(kMaxOpsPerQuery)}, [this, sid, key](DbResult &&r) {
        Session *s2 = find(sid);
        if (s2 == nullptr) return;
        auto it = s2->docs.find(key);
        if (it == s2->docs.end()) return;
        DocState &st2 = it->second;
        st2.refilling = false;
        if (!r.ok) {
            // Retried when the next op arrives or the feed reconnects; the stream waits rather than skipping.
            log_event(LogLevel::Warn, "refill_failed", {{"sqlstate", r.sqlstate}, {"message", r.message}});
            transport_.schedule(200000, [this, sid, key] {
                if (Session *s3 = find(sid)) {
                    auto it3 = s3->docs.find(key);
                    if (it3 != s3->docs.end() && !it3->second.refilling) {
                        if (!it3->second.after_refill.empty())
                            request_refill(*s3, key); // someone waits for this catch-up (a subscribe reply)
                        else if (it3->second.subscribed)
                            pump(*s3, key);
                    }
                }
            });
            return;
        }
        std::vector<FeedOp> ops;
        std::int64_t current = -1;
        std::vector<OpsRow> rows = ops_rows(r);
        if (!rows.empty() && rows.front().denied) {
            std::vector<std::function<void(Session &)>> waiters;
            waiters.swap(st2.after_refill);
            const std::string c = st2.c, d = st2.d;
            if (waiters.empty()) return lose_read_access(*s2, c, d); // a live subscription lost its right
            // A fetch or subscribe from a version is waiting: its reply carries the refusal.
            if (st2.subscribed) unsubscribe_doc(*s2, c, d);
            s2->read_denied.insert(key);
            for (auto &w : waiters)
                if (Session *s3 = find(sid)) w(*s3);
            if (Session *s3 = find(sid)) s3->read_denied.erase(key);
            return;
        }
        for (OpsRow &row : rows) {
            current = row.current;
            if (!row.v) continue;
            ops.push_back(FeedOp{*row.v, std::move(*row.op), row.src, row.seq, {}, Clock::now()});
        }
        const bool complete = ops.size() < static_cast<std::size_t>(kMaxOpsPerQuery);
        auto fi = feeds_.find(key);
        Feed *f = fi == feeds_.end() ? nullptr : fi->second.get();
        if (f != nullptr) {
            std::vector<FeedOp> copy = ops;
            ingest(*f, std::move(copy), current, complete);
        }
        // Deliver to this session in version order from its next version (also when it is not subscribed: a fetch
        // with a version sends the ops from that version).
        if (st2.next < 0) st2.next = ops.empty() ? current : ops.front().v;
        for (FeedOp &op : ops) {
            if (op.v != st2.next) continue;
            make_wire(st2.c, st2.d, op);
            ++st2.next;
            send_op(*s2, st2.c, st2.d, op);
            if (s2->closing) return;
        }
        if (!complete && st2.next < current) {
            request_refill(*s2, key);
            return;
        }
        if (!st2.subscribed) st2.next = -1;
        std::vector<std::function<void(Session &)>> waiters;
        waiters.swap(st2.after_refill);
        for (auto &w : waiters)
            w(*s2);
        if (Session *s3 = find(sid)) {
            auto it3 = s3->docs.find(key);
            if (it3 != s3->docs.end()) {
                if (it3->second.subscribed)
                    pump(*s3, key);
                else if (it3->second.idle())
                    s3->docs.erase(it3);
            }
        }
    });
}

void Bridge::catch_up(Session &s, const std::string &c, const std::vector<std::pair<std::string, std::int64_t>> &docs,
                      bool subscribe, std::function<void(Session &)> done) {
    auto remaining = std::make_shared<std::size_t>(docs.size());
    auto finish = std::make_shared<std::function<void(Session &)>>(std::move(done));
    if (docs.empty()) return (*finish)(s);
    for (const auto &[d, from] : docs) {
        const std::string key = doc_key(c, d);
        DocState &st = s.docs[key];
        st.c = c;
        st.d = d;
        if (subscribe || !st.subscribed) st.next = from;
        st.after_refill.push_back([remaining, finish](Session &s2) {
            if (--*remaining == 0) (*finish)(s2);
        });
        if (st.refilling) continue; // the running refill calls the waiter
        request_refill(s, key);
    }
}

void Bridge::fetch_snapshots(Session &s, const std::string &c, const std::vector<std::string> &ids,
                             std::function<void(Session &, json_t *)> done) {
    Json req = own(json_array());
    for (const std::string &d : ids)
        json_array_append_new(req.get(), json_pack("{s:s%,s:s%,s:o}", "c", c.data(), c.size(), "d", d.data(), d.size(),
                                                   "a", actor(s.identity).release()));
    const SessionId sid = s.id;
    db_.query("SELECT collection, id, version, type, data::text, error_code, error_message FROM "
              "collab.fetch_many($1::jsonb)",
              {dump(req.get())}, [this, sid, c, ids, done](DbResult &&r) {
                  Session *s2 = find(sid);
                  if (s2 == nullptr) return;
                  Json data = own(new_object());
                  if (!r.ok) {
                      Json err = own(json_pack("{s:{s:s,s:s%}}", "error", "code", sharedb_code(r.sqlstate).c_str(),
                                               "message", r.message.data(), r.message.size()));
                      for (const std::string &d : ids)
                          json_object_set(data.get(), d.c_str(), err.get());
                      done(*s2, data.get());
                      return;
                  }
                  std::vector<std::string> to_pump;
                  for (const auto &row : r.rows) {
                      const std::string d = row[1].value_or("");
                      if (row[5]) { // not allowed to read it
                          const std::string message = row[6].value_or("");
                          Json err = own(json_pack("{s:{s:s,s:s%}}", "error", "code", sharedb_code(*row[5]).c_str(),
                                                   "message", message.data(), message.size()));
                          json_object_set(data.get(), d.c_str(), err.get());
                          const std::string key = doc_key(c, d);
                          auto it = s2->docs.find(key);
                          if (it != s2->docs.end() && it->second.subscribed) {
                              it->second.after_refill.clear();
                              unsubscribe_doc(*s2, c, d);
                          }
                          continue;
                      }
                      const std::int64_t v = to_int(row[2]);
                      Json snap = own(json_pack("{s:I}", "v", static_cast<json_int_t>(v)));
                      json_object_set_new(snap.get(), "type",
                                          row[3] ? json_stringn(row[3]->data(), row[3]->size()) : json_null());
                      if (row[4]) {
                          Json value = parse(*row[4]);
                          if (value) json_object_set(snap.get(), "data", value.get());
                      }
                      json_object_set(data.get(), d.c_str(), snap.get());
                      const std::string key = doc_key(c, d);
                      auto it = s2->docs.find(key);
                      if (it != s2->docs.end() && it->second.subscribed) {
                          it->second.next = v; // the client's version is now the snapshot's
                          Feed &f = feed(c, d);
                          if (f.latest < 0) {
                              f.latest = v;
                              if (f.hinted > v) schedule_feed_fetch(f);
                          } else if (v > f.latest) {
                              schedule_feed_fetch(f);
                          }
                          to_pump.push_back(key);
                      }
                  }
                  done(*s2, data.get());
                  if (Session *s3 = find(sid))
                      for (const std::string &key : to_pump)
                          pump(*s3, key);
              });
}

void Bridge::schedule_feed_fetch(Feed &f) {
    feeds_to_fetch_.insert(f.key);
    if (feed_fetch_scheduled_ || feed_fetch_in_flight_) return;
    feed_fetch_scheduled_ = true;
    transport_.schedule(0, [this] {
        feed_fetch_scheduled_ = false;
        flush_feed_fetches();
    });
}

// One query for every document whose feed is behind (NOTIFY hints, gaps, reconnects).
void Bridge::flush_feed_fetches() {
    if (feed_fetch_in_flight_ || feeds_to_fetch_.empty()) return;
    Json req = own(json_array());
    std::vector<std::string> keys;
    for (const std::string &key : feeds_to_fetch_) {
        auto it = feeds_.find(key);
        if (it == feeds_.end() || it->second->latest < 0) continue;
        Feed &f = *it->second;
        // Read on behalf of one of the document's subscribers (each was checked when it subscribed, and all are
        // re-checked when rights change).
        const Session *reader = nullptr;
        for (SessionId id : f.subscribers)
            if ((reader = find(id)) != nullptr) break;
        if (reader == nullptr) continue;
        json_array_append_new(req.get(), json_pack("{s:s%,s:s%,s:I,s:o}", "c", f.c.data(), f.c.size(), "d", f.d.data(),
                                                   f.d.size(), "from", static_cast<json_int_t>(f.latest), "a",
                                                   actor(reader->identity).release()));
        keys.push_back(key);
    }
    for (const std::string &k : keys)
        feeds_to_fetch_.erase(k);
    if (keys.empty()) return;
    feed_fetch_in_flight_ = true;
    db_.query(kOpsManySql, {dump(req.get()), std::to_string(kMaxOpsPerQuery)}, [this, keys](DbResult &&r) {
        feed_fetch_in_flight_ = false;
        if (!r.ok) {
            log_event(LogLevel::Warn, "feed_fetch_failed", {{"sqlstate", r.sqlstate}, {"message", r.message}});
            for (const std::string &k : keys)
                if (feeds_.count(k) != 0) feeds_to_fetch_.insert(k);
            transport_.schedule(200000, [this] { flush_feed_fetches(); });
            return;
        }
        std::map<std::string, std::pair<std::vector<FeedOp>, std::int64_t>> by_doc;
        for (OpsRow &row : ops_rows(r)) {
            if (row.denied) continue; // that reader lost its right; the re-check ends its subscription
            auto &entry = by_doc[doc_key(row.c, row.d)];
            entry.second = row.current;
            if (row.v) entry.first.push_back(FeedOp{*row.v, std::move(*row.op), row.src, row.seq, {}, Clock::now()});
        }
        for (auto &[key, entry] : by_doc) {
            auto it = feeds_.find(key);
            if (it == feeds_.end()) continue;
            const bool complete = entry.first.size() < static_cast<std::size_t>(kMaxOpsPerQuery);
            ingest(*it->second, std::move(entry.first), entry.second, complete);
            pump_feed(*it->second);
        }
        if (!feeds_to_fetch_.empty()) flush_feed_fetches();
    });
}

void Bridge::on_notification(const std::string &channel, const std::string &payload) {
    ++metrics_.notifications;
    if (channel == kAuthChannel) {
        if (payload == "acl") {
            // Several grants in a row cause one re-check.
            if (recheck_scheduled_) return;
            recheck_scheduled_ = true;
            transport_.schedule(20000, [this] {
                recheck_scheduled_ = false;
                recheck_access();
            });
        } else if (auth_event_) {
            auth_event_(payload);
        }
        return;
    }
    Json msg = parse(payload);
    if (!msg || !json_is_object(msg.get())) return; // hints only: anyone can NOTIFY, so ignore what we cannot read
    if (channel == kPresenceChannel) {
        const char *bridge = str(msg.get(), "b");
        const char *ch = str(msg.get(), "ch");
        const char *x = str(msg.get(), "x");
        json_t *m = json_object_get(msg.get(), "m");
        if (bridge == nullptr || ch == nullptr || !json_is_object(m) || instance_id_ == bridge) return;
        deliver_presence(ch, m, x != nullptr ? x : "", 0);
        return;
    }
    const char *c = str(msg.get(), "c");
    const char *d = str(msg.get(), "d");
    std::int64_t v = -1;
    if (c == nullptr || d == nullptr || !as_version(json_object_get(msg.get(), "v"), v)) return;
    auto it = feeds_.find(doc_key(c, d));
    if (it == feeds_.end()) return;
    Feed &f = *it->second;
    f.hinted = std::max(f.hinted, v);
    if (f.latest < 0 || v <= f.latest) return;
    // The hint may be for this bridge's own commit, whose result is about to arrive (NOTIFY and the query result
    // travel on different connections). Wait briefly before reading the op-log, and only if still behind then.
    hinted_.insert(f.key);
    if (hint_timer_) return;
    hint_timer_ = true;
    transport_.schedule(kHintDelayUs, [this] {
        hint_timer_ = false;
        std::set<std::string> keys;
        keys.swap(hinted_);
        for (const std::string &key : keys) {
            auto fi = feeds_.find(key);
            if (fi == feeds_.end() || fi->second->latest < 0 || fi->second->latest >= fi->second->hinted) continue;
            // Our own submits to the document are still committing: their results bring the ops; look again then.
            if (submitting_.count(key) != 0) continue;
            schedule_feed_fetch(*fi->second);
        }
    });
}

void Bridge::on_feed_state(bool up) {
    if (!up) {
        log_event(LogLevel::Warn, "feed_down", {});
        return;
    }
    // Notifications may have been lost while the LISTEN connection was down: resync every document we serve.
    log_event(LogLevel::Info, "feed_up", {{"documents", static_cast<std::int64_t>(feeds_.size())}});
    for (auto &[key, f] : feeds_)
        if (f->latest >= 0) schedule_feed_fetch(*f);
    recheck_access(); // an "acl" notification may have been missed too
}

// ---------------------------------------------------------------------------------------------------------------
// Submitting ops: group commit

void Bridge::handle_op(Session &s, json_t *msg) {
    std::string c, d, problem;
    if (!doc_fields(msg, c, d, problem)) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", problem);
    std::int64_t version = -1;
    if (!optional_count(msg, "v", version))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"v\" must be null or a non-negative integer");
    const json_t *src_v = json_object_get(msg, "src");
    const json_t *seq_v = json_object_get(msg, "seq");
    if (src_v != nullptr && !json_is_null(src_v) && !json_is_string(src_v))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"src\" must be a string");
    if (seq_v != nullptr && !json_is_null(seq_v) && !json_is_number(seq_v))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"seq\" must be a number");
    const bool has_src = json_is_string(src_v);
    const bool has_seq = json_is_number(seq_v);
    if (has_src && !has_seq) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"src\" must come with \"seq\"");
    std::optional<std::int64_t> seq;
    if (has_seq) {
        if (json_number_value(seq_v) >= kMaxSeq)
            return send_error(s, msg, "ERR_CONNECTION_SEQ_INTEGER_OVERFLOW", "\"seq\" has reached 2^53-1");
        std::int64_t n = 0;
        if (!as_version(seq_v, n))
            return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"seq\" must be a non-negative integer");
        seq = n;
    }
    const std::string src = has_src ? json_string_value(src_v) : s.client_id;
    if (has_src && src != s.client_id && !ids_.verify(src, s.identity.user))
        return send_error(s, msg, "ERR_OP_SUBMIT_REJECTED",
                          "\"src\" is not a client id issued to this user; omit it to use the connection's id");
    json_t *op = json_object_get(msg, "op");
    json_t *create = json_object_get(msg, "create");
    json_t *del = json_object_get(msg, "del");
    const int kinds = (op != nullptr) + (create != nullptr) + (del != nullptr);
    if (kinds == 0)
        return send_error(s, msg, "ERR_OT_OP_NOT_PROVIDED", "an op message needs one of \"op\", \"create\" or \"del\"");
    if (kinds > 1)
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED",
                          "an op message has only one of \"op\", \"create\", \"del\"");
    Json body;
    if (op != nullptr) {
        if (!json_is_array(op))
            return send_error(s, msg, "ERR_OT_OP_BADLY_FORMED", "\"op\" must be an array of op components");
        body = ref(op);
    } else if (create != nullptr) {
        if (!json_is_object(create) || str(create, "type") == nullptr)
            return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED",
                              "\"create\" must be {\"type\": <type name or URI>, \"data\": ...}");
        body = own(json_pack("{s:O}", "create", create));
    } else {
        if (!json_is_true(del)) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"del\" must be true");
        body = own(json_pack("{s:b}", "del", 1));
    }
    // Draining: leave the op unanswered. The socket is closed with 1012 shortly, and the client resends the op
    // (same src and seq) to the bridge it reconnects to; an error here would make it roll the edit back.
    if (draining_) return;

    PendingSubmit p;
    p.session = s.id;
    p.request = ref(msg);
    p.c = c;
    p.d = d;
    p.src = src;
    p.seq = seq;
    p.received = Clock::now();
    p.db_request =
        own(json_pack("{s:s%,s:s%,s:O}", "c", c.data(), c.size(), "d", d.data(), d.size(), "op", body.get()));
    json_object_set_new(p.db_request.get(), "a", actor(s.identity).release());
    json_object_set_new(p.db_request.get(), "v", version >= 0 ? json_integer(version) : json_null());
    if (seq) {
        json_object_set_new(p.db_request.get(), "src", json_stringn(src.data(), src.size()));
        json_object_set_new(p.db_request.get(), "seq", json_integer(*seq));
    }
    if (seq) {
        DocState &st = s.docs[doc_key(c, d)];
        st.c = c;
        st.d = d;
        st.awaiting.push_back({src, *seq});
        // On a stream the socket gets the ops before its own from the feed: the database need not list them.
        if (st.subscribed && st.next >= 0) json_object_set_new(p.db_request.get(), "m", json_false());
    }
    batch_.push_back(std::move(p));
    if (batch_.size() >= static_cast<std::size_t>(config_.batch_max_ops)) {
        flush_batch();
    } else if (!batch_timer_) {
        batch_timer_ = true;
        transport_.schedule(config_.batch_window_us, [this] {
            batch_timer_ = false;
            flush_batch();
        });
    }
}

void Bridge::forget_awaited(Session &s, const PendingSubmit &p) {
    if (!p.seq) return;
    auto it = s.docs.find(doc_key(p.c, p.d));
    if (it == s.docs.end()) return;
    it->second.take_awaited(p.src, *p.seq);
    if (it->second.idle()) s.docs.erase(it);
}

void Bridge::flush_batch() {
    if (batch_.empty()) return;
    std::vector<PendingSubmit> batch;
    batch.swap(batch_);
    submits_in_flight_ += batch.size();
    for (const PendingSubmit &p : batch)
        ++submitting_[doc_key(p.c, p.d)];
    // One transaction at a time per pool connection, each with the documents that hash to it: a document's submits
    // always run on the same backend, whose document cache then needs no catch-up reads, two transactions never
    // touch the same document, and submits that arrive while a shard's transaction runs share its next one.
    const std::size_t shards = static_cast<std::size_t>(config_.db.pool_size);
    if (shard_waiting_.size() != shards) {
        shard_waiting_.resize(shards);
        shard_busy_.resize(shards, 0);
    }
    for (PendingSubmit &p : batch) {
        std::size_t shard = std::hash<std::string>{}(doc_key(p.c, p.d)) % shards;
        shard_waiting_[shard].push_back(std::move(p));
    }
    for (std::size_t shard = 0; shard < shards; ++shard)
        if (!shard_busy_[shard]) send_shard(shard);
}

void Bridge::send_shard(std::size_t shard) {
    std::vector<PendingSubmit> &waiting = shard_waiting_[shard];
    if (waiting.empty()) return;
    std::vector<PendingSubmit> part;
    const std::size_t max_ops = static_cast<std::size_t>(config_.batch_max_ops);
    if (waiting.size() <= max_ops) {
        part.swap(waiting);
    } else {
        part.assign(std::make_move_iterator(waiting.begin()),
                    std::make_move_iterator(waiting.begin() + static_cast<std::ptrdiff_t>(max_ops)));
        waiting.erase(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(max_ops));
    }
    shard_busy_[shard] = 1;
    ++metrics_.batches;
    metrics_.batch_size.observe(static_cast<double>(part.size()));
    Json req = own(json_array());
    for (const PendingSubmit &p : part)
        json_array_append(req.get(), p.db_request.get());
    auto shared = std::make_shared<std::vector<PendingSubmit>>(std::move(part));
    db_.query(
        "SELECT i, version, op::text, missed::text, error_code, error_message FROM collab.submit_many($1::text)",
        {dump(req.get())},
        [this, shard, shared](DbResult &&r) { on_batch_result(shard, std::move(*shared), std::move(r)); },
        static_cast<int>(shard));
}

void Bridge::on_batch_result(std::size_t shard, std::vector<PendingSubmit> batch, DbResult &&r) {
    submits_in_flight_ -= batch.size();
    shard_busy_[shard] = 0;
    send_shard(shard);             // the submits that gathered meanwhile
    std::set<std::string> settled; // documents with no submit of ours committing any more
    for (const PendingSubmit &p : batch) {
        const std::string key = doc_key(p.c, p.d);
        auto it = submitting_.find(key);
        if (it != submitting_.end() && --it->second == 0) {
            submitting_.erase(it);
            settled.insert(key);
        }
    }
    // Hints deferred while these documents had submits committing: read the op-log now if still behind.
    struct RecheckHints {
        Bridge &b;
        std::set<std::string> &keys;
        ~RecheckHints() {
            for (const std::string &key : keys) {
                auto fi = b.feeds_.find(key);
                if (fi != b.feeds_.end() && fi->second->latest >= 0 && fi->second->latest < fi->second->hinted)
                    b.schedule_feed_fetch(*fi->second);
            }
        }
    } recheck{*this, settled};
    const auto now = Clock::now();
    if (r.ok && r.rows.size() != batch.size()) {
        r.ok = false;
        r.connection_lost = true; // cannot tell which ops committed
        r.message = "collab.submit_many() answered " + std::to_string(r.rows.size()) + " rows for " +
                    std::to_string(batch.size()) + " ops";
    }
    // "Database unavailable" (no connection for a while) never reached the server: the client resends after
    // reconnecting, which is better than an error that makes it roll the user's edit back.
    const bool unavailable = r.sqlstate.rfind("08", 0) == 0 || r.sqlstate.rfind("57P0", 0) == 0;
    if (!r.ok && !r.connection_lost && !unavailable) {
        // The statement failed as a whole (so nothing was committed): every op gets the error.
        log_event(LogLevel::Error, "batch_rejected",
                  {{"sqlstate", r.sqlstate}, {"message", r.message}, {"ops", static_cast<std::int64_t>(batch.size())}});
        for (PendingSubmit &p : batch)
            if (Session *s = find(p.session)) {
                forget_awaited(*s, p);
                send_error(*s, p.request.get(), sharedb_code(r.sqlstate), r.message);
            }
        return;
    }
    if (!r.ok) {
        // The commit's outcome is unknown. Clients resubmit after reconnecting; (src, seq) makes that safe.
        log_event(LogLevel::Error, "batch_outcome_unknown",
                  {{"sqlstate", r.sqlstate}, {"message", r.message}, {"ops", static_cast<std::int64_t>(batch.size())}});
        std::set<SessionId> affected;
        for (const PendingSubmit &p : batch)
            affected.insert(p.session);
        for (SessionId id : affected)
            if (Session *s = find(id)) {
                s->closing = true;
                transport_.close(id, kCloseInternalError, "database unavailable: reconnect and resubmit");
            }
        return;
    }
    std::set<std::string> touched;
    for (const auto &row : r.rows) {
        const std::size_t i = static_cast<std::size_t>(std::stoll(row[0].value_or("0")));
        if (i >= batch.size()) continue;
        PendingSubmit &p = batch[i];
        Session *s = find(p.session);
        if (!row[1]) {
            const std::string sqlstate = row[4].value_or("XX000");
            if (s != nullptr) {
                forget_awaited(*s, p);
                send_error(*s, p.request.get(), sharedb_code(sqlstate), row[5].value_or("error"));
            }
            continue;
        }
        ++metrics_.ops_committed;
        metrics_.commit_seconds.observe(std::chrono::duration<double>(now - p.received).count());
        const std::int64_t version = std::stoll(*row[1]);
        std::vector<FeedOp> ops;
        Json missed = parse(row[3].value_or("[]"));
        std::size_t k;
        json_t *m;
        json_array_foreach(missed.get(), k, m) {
            FeedOp op;
            std::int64_t mv = 0;
            as_version(json_object_get(m, "v"), mv);
            op.v = mv;
            op.op_json = dump(json_object_get(m, "op"));
            if (const char *msrc = str(m, "src")) op.src = msrc;
            if (json_t *mseq = json_object_get(m, "seq"); json_is_integer(mseq)) op.seq = json_integer_value(mseq);
            op.seen = now;
            ops.push_back(std::move(op));
        }
        FeedOp own_op;
        own_op.v = version;
        own_op.op_json = row[2].value_or("null");
        if (p.seq) {
            own_op.src = p.src;
            own_op.seq = p.seq;
        }
        own_op.seen = now;
        ops.push_back(own_op);
        const std::string key = doc_key(p.c, p.d);
        auto fi = feeds_.find(key);
        if (fi != feeds_.end()) {
            std::vector<FeedOp> copy = ops;
            ingest(*fi->second, std::move(copy), -1, false);
            touched.insert(key);
        }
        if (s == nullptr) continue;
        auto sti = s->docs.find(key);
        DocState *st = sti == s->docs.end() ? nullptr : &sti->second;
        const bool on_stream = st != nullptr && st->subscribed && st->next >= 0;
        if (p.seq) {
            if (st == nullptr ||
                std::none_of(st->awaiting.begin(), st->awaiting.end(),
                             [&](const DocState::Awaited &a) { return a.seq == *p.seq && a.src == p.src; }))
                continue; // the stream already delivered it as this socket's ack
            if (on_stream && st->next <= version) {
                pump(*s, key); // the stream reaches the op and sends the ack in order
                continue;
            }
            st->take_awaited(p.src, *p.seq);
            // A resubmitted op whose original the stream delivered before (after a reconnect): the client took that
            // as its ack, so another ack would be a duplicate.
            if (on_stream && st->next > version) continue;
        }
        // Not on a stream: send what the op was transformed against, then the ack.
        for (FeedOp &op : ops) {
            if (op.v == version) break;
            make_wire(p.c, p.d, op);
            if (on_stream && op.v < st->next) continue;
            send_op(*s, p.c, p.d, op);
        }
        Json ack = own(json_pack("{s:s,s:s%,s:s%,s:I}", "a", "op", "c", p.c.data(), p.c.size(), "d", p.d.data(),
                                 p.d.size(), "v", static_cast<json_int_t>(version)));
        json_object_set_new(ack.get(), "src", json_stringn(p.src.data(), p.src.size()));
        if (p.seq) json_object_set_new(ack.get(), "seq", json_integer(*p.seq));
        send(*s, ack.get());
    }
    for (const std::string &key : touched) {
        auto fi = feeds_.find(key);
        if (fi != feeds_.end()) pump_feed(*fi->second);
    }
}

void Bridge::begin_drain() {
    draining_ = true;
    flush_batch();
}

bool Bridge::drained() const { return batch_.empty() && submits_in_flight_ == 0; }

void Bridge::close_all(int code, const std::string &reason) {
    for (auto &[id, s] : sessions_) {
        if (s->closing) continue;
        s->closing = true;
        transport_.close(id, code, reason);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots at a version or time

void Bridge::handle_snapshot_request(Session &s, json_t *msg, bool by_time) {
    std::string c, d, problem;
    if (!doc_fields(msg, c, d, problem)) return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", problem);
    std::int64_t value = -1;
    if (!optional_count(msg, by_time ? "ts" : "v", value))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED",
                          by_time ? "\"ts\" must be null or milliseconds since the epoch"
                                  : "\"v\" must be null or a non-negative integer");
    std::string sql;
    DbParams params{dump(actor(s.identity).get()), c, d};
    if (value < 0) {
        sql = "SELECT version, type, data::text, error_code, error_message FROM collab.fetch_many(jsonb_build_array("
              "jsonb_build_object('a', $1::jsonb, 'c', $2::text, 'd', $3::text)))";
    } else if (by_time) {
        sql = "SELECT version, type, data::text FROM collab.bridge_snapshot_at_time($1::jsonb, $2, $3, "
              "to_timestamp($4::double precision / 1000))";
        params.push_back(std::to_string(value));
    } else {
        sql = "SELECT version, type, data::text FROM collab.bridge_snapshot_at($1::jsonb, $2, $3, $4::bigint)";
        params.push_back(std::to_string(value));
    }
    auto request = share(msg);
    const SessionId sid = s.id;
    db_.query(sql, std::move(params), [this, sid, request](DbResult &&r) {
        Session *s2 = find(sid);
        if (s2 == nullptr) return;
        Json snap = own(new_object());
        if (!r.ok && r.sqlstate != "PC010") {
            send_error(*s2, request.get(), sharedb_code(r.sqlstate), r.message);
            return;
        }
        if (r.ok && !r.rows.empty() && r.rows[0].size() > 3 && r.rows[0][3]) {
            send_error(*s2, request.get(), sharedb_code(*r.rows[0][3]), r.rows[0][4].value_or(""));
            return;
        }
        if (r.ok && !r.rows.empty()) {
            const auto &row = r.rows[0];
            json_object_set_new(snap.get(), "v", json_integer(to_int(row[0])));
            json_object_set_new(snap.get(), "type",
                                row[1] ? json_stringn(row[1]->data(), row[1]->size()) : json_null());
            if (row[2]) {
                Json value = parse(*row[2]);
                if (value) json_object_set(snap.get(), "data", value.get());
            }
        } else { // never created: ShareDB answers version 0 without a type
            json_object_set_new(snap.get(), "v", json_integer(0));
            json_object_set_new(snap.get(), "type", json_null());
        }
        reply(*s2, request.get(), snap.release());
    });
}

void Bridge::http_snapshot(const Identity &who, const std::string &collection, const std::string &id,
                           std::function<void(int, std::int64_t, std::string)> done) {
    // The path is percent-decoded by libwebsockets: it may hold bytes that are not UTF-8, which json_pack refuses.
    for (const std::string *s : {&collection, &id})
        if (Json(json_stringn(s->data(), s->size())) == nullptr) {
            done(400, -1,
                 R"({"error":{"code":"ERR_MESSAGE_BADLY_FORMED","message":"the collection and id must be UTF-8"}})");
            return;
        }
    Json req = own(json_pack("[{s:s%,s:s%,s:o}]", "c", collection.data(), collection.size(), "d", id.data(), id.size(),
                             "a", actor(who).release()));
    db_.query("SELECT version, type, data::text, error_code, error_message FROM collab.fetch_many($1::jsonb)",
              {dump(req.get())}, [this, done](DbResult &&r) {
                  if (!r.ok) {
                      const std::string code = sharedb_code(r.sqlstate);
                      Json body = own(json_pack("{s:{s:s,s:s%}}", "error", "code", code.c_str(), "message",
                                                r.message.data(), r.message.size()));
                      const int status = r.sqlstate == "PC006" ? 400 : 503;
                      done(status, -1, dump(body.get()));
                      return;
                  }
                  const auto &row = r.rows.at(0);
                  if (row[3]) {
                      const std::string message = row[4].value_or("");
                      Json body = own(json_pack("{s:{s:s,s:s%}}", "error", "code", sharedb_code(*row[3]).c_str(),
                                                "message", message.data(), message.size()));
                      done(403, -1, dump(body.get()));
                      return;
                  }
                  const std::int64_t v = to_int(row[0]);
                  if (!row[1] && v == 0) {
                      done(404, -1,
                           "{\"error\":{\"code\":\"ERR_DOC_DOES_NOT_EXIST\",\"message\":\"no such document\"}}");
                      return;
                  }
                  Json body = own(json_pack("{s:I}", "v", static_cast<json_int_t>(v)));
                  json_object_set_new(body.get(), "type",
                                      row[1] ? json_stringn(row[1]->data(), row[1]->size()) : json_null());
                  if (row[2]) {
                      Json value = parse(*row[2]);
                      if (value) json_object_set(body.get(), "data", value.get());
                  }
                  done(200, v, dump(body.get()));
              });
}

void Bridge::http_list_documents(const Identity &who, const std::string &collection,
                                 std::function<void(int, std::string)> done) {
    db_.query("SELECT id, type, version, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
              "FROM collab.list_documents($1::jsonb, $2, 200)",
              {dump(actor(who).get()), collection}, [this, done, collection](DbResult &&r) {
                  if (!r.ok) {
                      const std::string code = sharedb_code(r.sqlstate);
                      Json body = own(json_pack("{s:{s:s,s:s%}}", "error", "code", code.c_str(), "message",
                                                r.message.data(), r.message.size()));
                      done(r.sqlstate == "PC006" ? 400 : 503, dump(body.get()));
                      return;
                  }
                  Json list = own(json_array());
                  for (const auto &row : r.rows) {
                      Json item =
                          own(json_pack("{s:s,s:s,s:I,s:s}", "id", row[0].value_or("").c_str(), "type",
                                        row[1].value_or("").c_str(), "version", static_cast<json_int_t>(to_int(row[2])),
                                        "updated_at", row[3].value_or("").c_str()));
                      json_array_append(list.get(), item.get());
                  }
                  Json body = own(json_pack("{s:s%,s:O}", "collection", collection.data(), collection.size(),
                                            "documents", list.get()));
                  done(200, dump(body.get()));
              });
}

// ---------------------------------------------------------------------------------------------------------------
// Presence

void Bridge::handle_presence_subscribe(Session &s, json_t *msg, bool subscribe) {
    const char *ch = str(msg, "ch");
    if (ch == nullptr)
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"ch\" (the presence channel) must be a string");
    const std::string channel(ch);
    auto body = [this, channel, subscribe, request = share(msg)](Session &s2) {
        const std::string key = presence_key(s2, channel);
        if (subscribe) {
            s2.presence_channels.insert(key);
            presence_subscribers_[key].insert(s2.id);
            // Ask everyone else on the channel to send their presence again.
            Json pr = own(json_pack("{s:s,s:s%}", "a", "pr", "ch", channel.data(), channel.size()));
            publish_presence(key, pr.get(), s2.client_id, s2.id);
        } else {
            s2.presence_channels.erase(key);
            auto it = presence_subscribers_.find(key);
            if (it != presence_subscribers_.end()) {
                it->second.erase(s2.id);
                if (it->second.empty()) presence_subscribers_.erase(it);
            }
            retract_presence(s2, key);
        }
        Json fields = own(json_pack("{s:s%}", "ch", channel.data(), channel.size()));
        if (json_t *seq = json_object_get(request.get(), "seq")) json_object_set(fields.get(), "seq", seq);
        reply(s2, request.get(), fields.release());
    };
    if (!subscribe) return body(s); // leaving needs no right
    authorize_channel(s, msg, channel, body);
}

void Bridge::handle_presence_request(Session &s, json_t *msg) {
    const char *ch = str(msg, "ch");
    if (ch == nullptr)
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "\"ch\" (the presence channel) must be a string");
    const std::string channel(ch);
    authorize_channel(s, msg, channel, [this, channel, request = share(msg)](Session &s2) {
        Json pr = own(json_pack("{s:s,s:s%}", "a", "pr", "ch", channel.data(), channel.size()));
        publish_presence(presence_key(s2, channel), pr.get(), s2.client_id, s2.id);
        reply(s2, request.get(), new_object());
    });
}

void Bridge::handle_presence(Session &s, json_t *msg) {
    const char *ch = str(msg, "ch");
    const char *id = str(msg, "id");
    if (ch == nullptr || id == nullptr)
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "presence needs \"ch\" and \"id\" strings");
    auto it = s.channel_rights.find(ch);
    const bool doc_channel = std::string_view(ch).find('.') != std::string_view::npos;
    if (doc_channel && (it == s.channel_rights.end() || !it->second)) {
        // Check the right first, then handle the message as if it arrived now.
        return authorize_channel(s, msg, ch, [this, request = share(msg)](Session &s2) {
            if (s2.channel_rights.count(str(request.get(), "ch")) != 0) handle_presence(s2, request.get());
        });
    }
    json_t *p = json_object_get(msg, "p");
    json_t *pv = json_object_get(msg, "pv");
    const char *t = str(msg, "t");
    Json out = own(
        json_pack("{s:s,s:s,s:s%,s:s}", "a", "p", "ch", ch, "src", s.client_id.data(), s.client_id.size(), "id", id));
    json_object_set(out.get(), "p", p != nullptr ? p : json_null());
    if (pv != nullptr) json_object_set(out.get(), "pv", pv);
    for (const char *k : {"c", "d", "v", "t"})
        if (json_t *v = json_object_get(msg, k)) json_object_set(out.get(), k, v);
    if (dump(out.get()).size() > kMaxPresenceBytes)
        return send_error(s, msg, "ERR_PRESENCE_TOO_LARGE",
                          "a presence value is limited to " + std::to_string(kMaxPresenceBytes) + " bytes");
    const std::string presence_id(id);
    const std::string channel = presence_key(s, ch);
    const std::string src = s.client_id;
    const SessionId sid = s.id;
    auto finish = [this, channel, presence_id, src, sid](json_t *message) {
        if (Session *s2 = find(sid)) {
            s2->presence_sent[channel][presence_id] = ref(message);
            publish_presence(channel, message, src, sid);
            send(*s2, message); // the sender acknowledges by id and pv
        }
    };
    if (t == nullptr) return finish(out.get());
    if (std::string_view(t) != "text-unicode" && std::string_view(t) != "http://sharejs.org/types/text-unicode")
        return send_error(s, msg, "ERR_TYPE_DOES_NOT_SUPPORT_PRESENCE",
                          std::string("type ") + t + " does not support presence on collab-bridge (text-unicode does)");
    const char *c = str(msg, "c");
    const char *d = str(msg, "d");
    std::int64_t v = -1;
    if (c == nullptr || d == nullptr || !as_version(json_object_get(msg, "v"), v))
        return send_error(s, msg, "ERR_MESSAGE_BADLY_FORMED", "doc presence needs \"c\", \"d\" and a version \"v\"");
    auto fi = feeds_.find(doc_key(c, d));
    const bool current = fi != feeds_.end() && fi->second->latest >= 0 && v >= fi->second->latest;
    if (current || json_is_null(p) || p == nullptr) return finish(out.get());
    // Made at an older version: move it through the ops committed since.
    auto request = share(msg);
    db_.query("SELECT version, presence::text FROM collab.transform_presence($1::jsonb, $2, $3, $4::bigint, "
              "$5::jsonb)",
              {dump(actor(s.identity).get()), std::string(c), std::string(d), std::to_string(v), dump(p)},
              [this, sid, request, finish, shared_out = share(out.get())](DbResult &&r) {
                  Session *s2 = find(sid);
                  if (s2 == nullptr) return;
                  if (!r.ok || r.rows.empty()) {
                      send_error(*s2, request.get(), "ERR_PRESENCE_TRANSFORM_FAILED", r.ok ? "no result" : r.message);
                      return;
                  }
                  json_object_set_new(shared_out.get(), "v", json_integer(to_int(r.rows[0][0])));
                  Json moved = r.rows[0][1] ? parse(*r.rows[0][1]) : Json(json_null());
                  json_object_set(shared_out.get(), "p", moved ? moved.get() : json_null());
                  finish(shared_out.get());
              });
}

void Bridge::retract_presence(Session &s, const std::string &channel) {
    auto it = s.presence_sent.find(channel);
    if (it == s.presence_sent.end()) return;
    for (auto &[id, last] : it->second) {
        Json gone = own(json_deep_copy(last.get()));
        json_object_set_new(gone.get(), "p", json_null());
        publish_presence(channel, gone.get(), s.client_id, s.id);
    }
    s.presence_sent.erase(it);
}

void Bridge::deliver_presence(const std::string &channel, json_t *message, const std::string &origin_src,
                              SessionId origin_session) {
    auto it = presence_subscribers_.find(channel);
    if (it == presence_subscribers_.end()) return;
    std::vector<SessionId> targets(it->second.begin(), it->second.end());
    for (SessionId id : targets) {
        if (id == origin_session) continue;
        Session *s = find(id);
        if (s == nullptr || (!origin_src.empty() && s->client_id == origin_src)) continue;
        send(*s, message);
    }
}

void Bridge::publish_presence(const std::string &channel, json_t *message, const std::string &origin_src,
                              SessionId origin_session) {
    deliver_presence(channel, message, origin_src, origin_session);
    Json envelope = own(json_pack("{s:s,s:s%,s:s%,s:O}", "b", instance_id_.c_str(), "ch", channel.data(),
                                  channel.size(), "x", origin_src.data(), origin_src.size(), "m", message));
    std::string payload = dump(envelope.get());
    if (payload.size() >= 8000) return; // PostgreSQL's NOTIFY limit; local subscribers already have it
    presence_out_.push_back(std::move(payload));
    if (presence_timer_) return;
    presence_timer_ = true;
    transport_.schedule(config_.batch_window_us, [this] {
        presence_timer_ = false;
        flush_presence();
    });
}

void Bridge::flush_presence() {
    if (presence_out_.empty()) return;
    Json arr = own(json_array());
    for (const std::string &p : presence_out_)
        json_array_append_new(arr.get(), json_stringn(p.data(), p.size()));
    presence_out_.clear();
    db_.query(
        "SELECT pg_catalog.pg_notify('collab_presence', x) FROM pg_catalog.jsonb_array_elements_text($1::jsonb) x",
        {dump(arr.get())}, [](DbResult &&r) {
            if (!r.ok)
                log_event(LogLevel::Warn, "presence_relay_failed", {{"sqlstate", r.sqlstate}, {"message", r.message}});
        });
}

// ---------------------------------------------------------------------------------------------------------------
// Access control: identities, re-checks when rights change, revocation

Json Bridge::actor(const Identity &who) {
    Json a = own(json_pack("{s:s%}", "user", who.user.data(), who.user.size()));
    json_object_set_new(a.get(), "org", who.org.empty() ? json_null() : json_stringn(who.org.data(), who.org.size()));
    return a;
}

const Identity *Bridge::identity(SessionId id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second->identity;
}

std::string Bridge::presence_key(const Session &s, const std::string &channel) {
    if (channel.find('.') != std::string::npos) return channel; // ShareDB document presence: collection.id
    return "org:" + s.identity.org + '\x1f' + channel;
}

void Bridge::authorize_channel(Session &s, json_t *request, const std::string &channel,
                               std::function<void(Session &)> fn) {
    const std::size_t dot = channel.find('.');
    if (dot == std::string::npos) return fn(s); // a plain channel: shared within the organization
    auto it = s.channel_rights.find(channel);
    if (it != s.channel_rights.end()) {
        if (it->second) return fn(s);
        return send_error(s, request, "ERR_SNAPSHOT_READS_REJECTED",
                          "presence channel \"" + channel + "\" belongs to a document this user may not read");
    }
    const std::string c = channel.substr(0, dot), d = channel.substr(dot + 1);
    Json req = own(json_pack("[{s:s%,s:s%,s:o}]", "c", c.data(), c.size(), "d", d.data(), d.size(), "a",
                             actor(s.identity).release()));
    const SessionId sid = s.id;
    db_.query("SELECT i, rank FROM collab.check_access_many($1::jsonb)", {dump(req.get())},
              [this, sid, channel, fn = std::move(fn), request = share(request)](DbResult &&r) {
                  Session *s2 = find(sid);
                  if (s2 == nullptr) return;
                  if (!r.ok) return send_error(*s2, request.get(), sharedb_code(r.sqlstate), r.message);
                  const bool allowed = !r.rows.empty() && to_int(r.rows[0][1]) >= 1;
                  if (s2->channel_rights.size() >= static_cast<std::size_t>(config_.max_subscriptions))
                      s2->channel_rights.clear(); // bounded: forgotten answers are asked again
                  s2->channel_rights[channel] = allowed;
                  if (allowed) return fn(*s2);
                  send_error(*s2, request.get(), "ERR_SNAPSHOT_READS_REJECTED",
                             "presence channel \"" + channel + "\" belongs to a document this user may not read");
              });
}

void Bridge::lose_read_access(Session &s, const std::string &c, const std::string &d) {
    const std::string key = doc_key(c, d);
    auto it = s.docs.find(key);
    if (it != s.docs.end() && it->second.subscribed) unsubscribe_doc(s, c, d);
    Json msg = own(json_pack("{s:s,s:s%,s:s%,s:{s:s,s:s}}", "a", "op", "c", c.data(), c.size(), "d", d.data(), d.size(),
                             "error", "code", "ERR_SNAPSHOT_READS_REJECTED", "message",
                             "this user may no longer read the document: its subscription has ended"));
    send(s, msg.get());
}

void Bridge::recheck_access() {
    struct Check {
        SessionId session;
        std::string c, d, channel; // channel empty: a document subscription
    };
    std::vector<Check> checks;
    Json req = own(json_array());
    for (auto &[id, s] : sessions_) {
        if (s->closing) continue;
        for (const auto &[key, st] : s->docs) {
            if (!st.subscribed) continue;
            checks.push_back({id, st.c, st.d, {}});
            json_array_append_new(req.get(), json_pack("{s:s%,s:s%,s:o}", "c", st.c.data(), st.c.size(), "d",
                                                       st.d.data(), st.d.size(), "a", actor(s->identity).release()));
        }
        std::map<std::string, bool> rights;
        rights.swap(s->channel_rights); // grants may have added rights too: ask again on next use
        for (const auto &[channel, allowed] : rights) {
            if (!allowed || s->presence_channels.count(channel) == 0) continue;
            const std::size_t dot = channel.find('.');
            checks.push_back({id, channel.substr(0, dot), channel.substr(dot + 1), channel});
            json_array_append_new(req.get(), json_pack("{s:s,s:s,s:o}", "c", checks.back().c.c_str(), "d",
                                                       checks.back().d.c_str(), "a", actor(s->identity).release()));
        }
    }
    if (checks.empty()) return;
    db_.query(
        "SELECT i, rank FROM collab.check_access_many($1::jsonb)", {dump(req.get())},
        [this, checks = std::move(checks)](DbResult &&r) {
            if (!r.ok) {
                log_event(LogLevel::Warn, "access_recheck_failed", {{"sqlstate", r.sqlstate}, {"message", r.message}});
                transport_.schedule(500000, [this] { recheck_access(); });
                return;
            }
            for (const auto &row : r.rows) {
                const std::size_t i = static_cast<std::size_t>(to_int(row[0]));
                if (i >= checks.size()) continue;
                const Check &ck = checks[i];
                Session *s = find(ck.session);
                if (s == nullptr) continue;
                const bool allowed = to_int(row[1]) >= 1;
                if (ck.channel.empty()) {
                    if (!allowed) lose_read_access(*s, ck.c, ck.d);
                    continue;
                }
                s->channel_rights[ck.channel] = allowed;
                if (allowed) continue;
                s->presence_channels.erase(ck.channel);
                auto it = presence_subscribers_.find(ck.channel);
                if (it != presence_subscribers_.end()) {
                    it->second.erase(s->id);
                    if (it->second.empty()) presence_subscribers_.erase(it);
                }
                retract_presence(*s, ck.channel);
            }
            log_event(LogLevel::Info, "access_rechecked", {{"checks", static_cast<std::int64_t>(r.rows.size())}});
        });
}

} // namespace collab::bridge
