// collab-bridge: the libwebsockets layer. One vhost serves HTTP (health, readiness, metrics, document snapshots) and
// the WebSocket protocol on the same port; complete text messages go to the Bridge, which queues replies that are
// written one per writable callback. Everything runs on the event loop thread; database threads only wake it.
#include "server.hpp"

#include <ev.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>

#include "auth.hpp"
#include "bridge.hpp"
#include "json.hpp"
#include "log.hpp"
#include "static_files.hpp"

namespace collab::bridge {

namespace {

std::atomic<bool> stop_requested{false};
lws_context *signal_context = nullptr;

extern "C" void on_signal(int) {
    stop_requested = true;
    if (signal_context != nullptr) lws_cancel_service(signal_context);
}

// If-None-Match (RFC 9110 13.1.2): "*" or a comma-separated list of entity tags, compared weakly.
bool etag_matches(const std::string &header, const std::string &etag) {
    std::size_t i = 0;
    while (i < header.size()) {
        while (i < header.size() && (header[i] == ' ' || header[i] == ',' || header[i] == '\t'))
            ++i;
        std::size_t j = i;
        while (j < header.size() && header[j] != ',')
            ++j;
        std::string tag = header.substr(i, j - i);
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
            tag.pop_back();
        if (tag.rfind("W/", 0) == 0) tag = tag.substr(2);
        if (tag == "*" || tag == etag) return true;
        i = j;
    }
    return false;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A request header's value, or empty.
std::string header(lws *wsi, lws_token_indexes token) {
    const int n = lws_hdr_total_length(wsi, token);
    if (n <= 0) return {};
    std::string value(static_cast<std::size_t>(n) + 1, '\0');
    if (lws_hdr_copy(wsi, value.data(), n + 1, token) < 0) return {};
    value.resize(std::strlen(value.c_str()));
    return value;
}

std::string peer_address(lws *wsi) {
    char buf[128] = {0};
    lws_get_peer_simple(wsi, buf, sizeof(buf));
    return buf;
}

// The query string's parameters, joined with '&'.
std::string query_string(lws *wsi) {
    std::string out;
    char buf[1024];
    for (int i = 0; i < 64; ++i) {
        const int n = lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) break;
        if (!out.empty()) out += '&';
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::string error_body(const std::string &code, const std::string &message) {
    json_t *j = json_pack("{s:{s:s%,s:s%}}", "error", "code", code.data(), code.size(), "message", message.data(),
                          message.size());
    char *text = json_dumps(j, JSON_COMPACT);
    std::string out = text != nullptr ? text : "{}";
    free(text);
    json_decref(j);
    return out;
}

// One WebSocket connection.
struct Conn {
    SessionId id = 0;
    Identity identity;
    lws *wsi = nullptr;
    std::string rx; // message being reassembled from fragments
    bool rx_binary = false;
    bool rx_too_large = false;
    int close_code = 0; // close once the queue is written
    std::string close_reason;
    std::vector<unsigned char> tx; // LWS_PRE + message
    double tokens = 0;             // rate limit bucket
    lws_usec_t refilled_at = 0;
    bool throttled = false;
    bool rate_warned = false;
};

struct WsPss {
    Conn *conn;
    Identity *pending; // set by the handshake filter, taken by ESTABLISHED
};

// One HTTP request.
struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool ready = false;
    bool headers_sent = false;
};

struct HttpPss {
    HttpResponse *response;
    std::uint64_t request_id;
    std::string *post_body; // POST /auth/*: the body being received
    std::string *post_path;
};

class Server final : public Transport {
  public:
    Server(Config config) : config_(std::move(config)), static_files_(config_.web_root) {}

    int run();

    // Transport
    void request_write(SessionId id) override {
        auto it = conns_.find(id);
        if (it != conns_.end()) lws_callback_on_writable(it->second->wsi);
    }
    void close(SessionId id, int code, const std::string &reason) override {
        auto it = conns_.find(id);
        if (it == conns_.end()) return;
        it->second->close_code = code;
        it->second->close_reason = reason.substr(0, 120);
        lws_callback_on_writable(it->second->wsi);
    }
    void schedule(std::int64_t delay_us, std::function<void()> fn) override {
        const lws_usec_t due = lws_now_usecs() + delay_us;
        timers_.emplace(due, std::move(fn));
        arm_timer();
    }

    int ws_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len);
    int http_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len);

  private:
    void arm_timer();
    void run_due_timers();
    static void on_timer(lws_sorted_usec_list_t *sul);
    static void on_ev_timer(struct ev_loop *loop, ev_timer *w, int revents);
    static void on_ev_tick(struct ev_loop *loop, ev_timer *w, int revents);
    bool start_event_loop(lws_context_creation_info &info);
    void stop_event_loop();
    void on_message(Conn &c);
    void start_http(lws *wsi, HttpPss &pss, const char *uri);
    void start_auth_request(lws *wsi, std::uint64_t id, const std::string &path, const std::string &body);
    void finish_session_response(std::uint64_t id, DbResult &&r, bool clear_on_failure);
    std::vector<std::pair<std::string, std::string>> session_cookies(const std::string &access,
                                                                     const std::string &refresh) const;
    std::vector<std::pair<std::string, std::string>> cleared_cookies() const;
    // The identity of an HTTP request or WebSocket handshake (Origin, query string, token, revocation).
    AuthResult authenticate_request(lws *wsi);
    void load_builtin_keys();
    // Reloads the built-in keys every 5 minutes, so that retired keys leave even without a notification.
    void periodic_key_reload();
    // Closes the socket with 4001 when its token expires, unless a fresh token ({"a": "auth"}) arrived by then.
    void schedule_expiry(const Conn &c);
    void load_revocations();
    void on_auth_event(const std::string &payload);
    void start_api_request(lws *wsi, std::uint64_t id, const std::string &path);
    void finish_http(std::uint64_t request_id, int status, std::string content_type, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {});
    void check_drain();
    bool ready() const {
        return bridge_->ready() && auth_->ready() && db_->pool_ready() && db_->feed_ready() && !draining_;
    }

    Config config_;
    StaticFiles static_files_;
    lws_context *context_ = nullptr;
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<Bridge> bridge_;
    std::unique_ptr<Auth> auth_;
    std::unordered_map<SessionId, Conn *> conns_;
    SessionId next_session_ = 1;
    std::unordered_map<std::uint64_t, lws *> http_requests_;
    std::uint64_t next_http_ = 1;
    std::multimap<lws_usec_t, std::function<void()>> timers_;
    lws_sorted_usec_list_t timer_sul_{};
    lws_usec_t timer_due_ = 0;
    // --event-loop ev: libev owns the sockets (epoll), on a loop that this class creates, runs and stops.
    struct ev_loop *ev_loop_ = nullptr;
    void *foreign_loops_[1] = {nullptr};
    ev_timer ev_timer_{}; // the timer queue (timers_)
    ev_timer ev_tick_{};  // services the timers of libwebsockets itself (see on_ev_tick)
    bool draining_ = false;
    lws_usec_t keys_reloaded_at_ = 0;
    std::size_t live_wsi_ = 0; // every connection (and the listening socket), for --max-unauthenticated
    lws_usec_t drain_deadline_ = 0;
    bool closing_sockets_ = false;
    lws_usec_t close_deadline_ = 0;
    bool done_ = false;
};

Server *server_instance = nullptr;

extern "C" int ws_trampoline(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    try {
        return server_instance->ws_callback(wsi, reason, user, in, len);
    } catch (const std::exception &e) {
        log_event(LogLevel::Error, "websocket_callback_failed", {{"message", e.what()}});
        return -1;
    }
}

extern "C" int http_trampoline(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    try {
        return server_instance->http_callback(wsi, reason, user, in, len);
    } catch (const std::exception &e) {
        log_event(LogLevel::Error, "http_callback_failed", {{"message", e.what()}});
        return -1;
    }
}

extern "C" void lws_log_to_json(int level, const char *line) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    log_event(level == LLL_ERR ? LogLevel::Error : LogLevel::Warn, "libwebsockets", {{"message", text}});
}

void Server::arm_timer() {
    if (timers_.empty()) return;
    const lws_usec_t due = timers_.begin()->first;
    if (timer_due_ != 0 && timer_due_ <= due) return;
    timer_due_ = due;
    const lws_usec_t now = lws_now_usecs();
    const lws_usec_t delay = due > now ? due - now : 1;
    if (ev_loop_ != nullptr) {
        // Our own watcher, not lws_sul_schedule(): lws 4.1's libev glue re-arms its timer with ev_timer_set() on a
        // watcher that may be running, which libev ignores, so a sooner lws_sul could wait for an unrelated event.
        ev_timer_stop(ev_loop_, &ev_timer_);
        ev_now_update(ev_loop_); // libev counts from the loop's cached time: refresh it so as not to fire early
        ev_timer_set(&ev_timer_, static_cast<double>(delay) / 1e6, 0.);
        ev_timer_start(ev_loop_, &ev_timer_);
        return;
    }
    lws_sul_schedule(context_, 0, &timer_sul_, on_timer, delay);
}

void Server::run_due_timers() {
    timer_due_ = 0;
    const lws_usec_t now = lws_now_usecs();
    while (!timers_.empty() && timers_.begin()->first <= now) {
        std::function<void()> fn = std::move(timers_.begin()->second);
        timers_.erase(timers_.begin());
        try {
            fn();
        } catch (const std::exception &e) {
            log_event(LogLevel::Error, "timer_failed", {{"message", e.what()}});
        }
    }
    arm_timer();
}

void Server::on_timer(lws_sorted_usec_list_t *) { server_instance->run_due_timers(); }

void Server::on_ev_timer(struct ev_loop *, ev_timer *, int) { server_instance->run_due_timers(); }

// libwebsockets services its own timers (ping, idle and close timeouts) when one of its sockets has an event, and
// with a timer that lws 4.1 does not always move sooner (see arm_timer): a wakeup through its event pipe every
// 100 ms bounds their lateness on a quiet server. Costs a few microseconds per tick.
void Server::on_ev_tick(struct ev_loop *, ev_timer *, int) {
    if (server_instance->context_ != nullptr) lws_cancel_service(server_instance->context_);
}

bool Server::start_event_loop(lws_context_creation_info &info) {
    if (config_.event_loop != "ev") return true;
    ev_loop_ = ev_loop_new(EVFLAG_AUTO);
    if (ev_loop_ == nullptr) {
        log_event(LogLevel::Error, "event_loop_failed", {{"message", "libev could not create a loop"}});
        return false;
    }
    ev_timer_init(&ev_timer_, on_ev_timer, 0., 0.);
    // libev invokes the callbacks of one wakeup highest priority first (and, within one priority, timers before
    // sockets). With the lowest priority, a due timer runs after the sockets and the database results of the same
    // wakeup, as with lws' poll() loop: a batch window gets the submits that arrived meanwhile, and a NOTIFY hint's
    // timer sees our own batch result if it arrived in the same wakeup.
    ev_set_priority(&ev_timer_, EV_MINPRI);
    ev_timer_init(&ev_tick_, on_ev_tick, 0.1, 0.1);
    ev_timer_start(ev_loop_, &ev_tick_);
    foreign_loops_[0] = ev_loop_;
    info.options |= LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign_loops_;
    const unsigned backend = ev_backend(ev_loop_);
    log_event(LogLevel::Info, "event_loop",
              {{"loop", "ev"},
               {"backend", backend == EVBACKEND_EPOLL  ? "epoll"
                           : backend == EVBACKEND_POLL ? "poll"
                                                       : "other"}});
    return true;
}

// After lws_context_destroy(): lws has stopped its watchers on our loop.
void Server::stop_event_loop() {
    if (ev_loop_ == nullptr) return;
    ev_timer_stop(ev_loop_, &ev_timer_);
    ev_timer_stop(ev_loop_, &ev_tick_);
    ev_run(ev_loop_, EVRUN_NOWAIT);
    ev_loop_destroy(ev_loop_);
    ev_loop_ = nullptr;
}

void Server::on_message(Conn &c) {
    // Token bucket: rate_limit messages per second, bursts up to twice that. A socket over budget is not read until
    // its budget refills (TCP pushes back on the client); nothing is dropped.
    const double rate = config_.rate_limit_per_second;
    const lws_usec_t now = lws_now_usecs();
    c.tokens = std::min(2 * rate, c.tokens + rate * static_cast<double>(now - c.refilled_at) / 1e6);
    c.refilled_at = now;
    c.tokens -= 1;
    if (c.rx_binary)
        bridge_->on_binary_message(c.id);
    else
        bridge_->on_message(c.id, c.rx);
    c.rx.clear();
    if (c.rx.capacity() > 65536) c.rx.shrink_to_fit(); // idle sockets keep no large buffers
    if (c.tokens < 0 && !c.throttled) {
        c.throttled = true;
        ++metrics_->rate_limited;
        if (!c.rate_warned) { // once per socket: a client over its budget is slowed down, never dropped
            c.rate_warned = true;
            log_event(LogLevel::Warn, "socket_rate_limited",
                      {{"session", static_cast<std::int64_t>(c.id)},
                       {"user", c.identity.user},
                       {"limit_per_second", static_cast<std::int64_t>(rate)},
                       {"message", "messages over --rate-limit: the socket is read more slowly"}});
        }
        lws_rx_flow_control(c.wsi, 0);
        schedule(static_cast<std::int64_t>((-c.tokens + 1) / rate * 1e6), [this, sid = c.id] {
            auto it = conns_.find(sid);
            if (it == conns_.end()) return; // closed meanwhile
            it->second->throttled = false;
            lws_rx_flow_control(it->second->wsi, 1);
        });
    }
}

int Server::ws_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    auto *pss = static_cast<WsPss *>(user);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        if (pss->pending == nullptr) return -1; // the handshake filter did not run
        auto *c = new Conn();
        c->id = next_session_++;
        c->wsi = wsi;
        c->identity = std::move(*pss->pending);
        delete pss->pending;
        pss->pending = nullptr;
        c->tokens = 2.0 * config_.rate_limit_per_second;
        c->refilled_at = lws_now_usecs();
        pss->conn = c;
        conns_[c->id] = c;
        auth_->opened(c->identity);
        bridge_->open_session(c->id, c->identity);
        if (draining_) close(c->id, kCloseServiceRestart, "server is restarting");
        schedule_expiry(*c);
        return 0;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        if (draining_) {
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "this bridge is shutting down");
            return 1;
        }
        AuthResult r = authenticate_request(wsi);
        if (r.status == 0) {
            AuthResult cap = auth_->admit(r.identity);
            if (cap.status != 0) r = std::move(cap);
        }
        if (r.status != 0) {
            log_event(LogLevel::Info, "socket_refused",
                      {{"status", static_cast<std::int64_t>(r.status)}, {"code", r.code}, {"ip", peer_address(wsi)}});
            ++metrics_->auth_refused;
            lws_return_http_status(wsi, static_cast<unsigned int>(r.status), (r.code + ": " + r.message).c_str());
            return 1;
        }
        delete pss->pending;
        pss->pending = new Identity(std::move(r.identity));
        return 0;
    }
    case LWS_CALLBACK_WSI_DESTROY:
        if (live_wsi_ > 0) --live_wsi_;
        if (pss != nullptr) {
            delete pss->pending;
            pss->pending = nullptr;
        }
        return 0;
    case LWS_CALLBACK_RECEIVE: {
        Conn *c = pss->conn;
        if (c == nullptr) return -1;
        if (lws_is_first_fragment(wsi)) {
            c->rx.clear();
            c->rx_binary = lws_frame_is_binary(wsi) != 0;
        }
        if (c->rx.size() + len > config_.max_message_bytes) {
            static const char why[] = "message too large";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             reinterpret_cast<unsigned char *>(const_cast<char *>(why)), sizeof(why) - 1);
            return -1;
        }
        c->rx.append(static_cast<const char *>(in), len);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) on_message(*c);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        Conn *c = pss->conn;
        if (c == nullptr) return -1;
        // Write what is queued while the socket takes it (a fan-out burst to one socket is common), corked so
        // that the kernel sends full segments rather than one per message.
        const int fd = lws_get_socket_fd(wsi);
        bool corked = false;
        for (int written = 0; written < 64; ++written) {
            std::optional<std::string> msg = bridge_->next_outgoing(c->id);
            if (!msg) break;
            if (!corked && bridge_->has_outgoing(c->id) && fd >= 0) {
                const int on = 1;
                corked = setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0;
            }
            c->tx.resize(LWS_PRE + msg->size());
            std::memcpy(c->tx.data() + LWS_PRE, msg->data(), msg->size());
            const int n = lws_write(wsi, c->tx.data() + LWS_PRE, msg->size(), LWS_WRITE_TEXT);
            if (n < static_cast<int>(msg->size())) return -1;
            if (c->tx.capacity() > LWS_PRE + 65536) std::vector<unsigned char>().swap(c->tx);
            if (lws_send_pipe_choked(wsi)) break;
        }
        if (corked) {
            const int off = 0;
            setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
        }
        if (bridge_->has_outgoing(c->id)) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (c->close_code != 0) {
            lws_close_reason(wsi, static_cast<lws_close_status>(c->close_code),
                             reinterpret_cast<unsigned char *>(c->close_reason.data()), c->close_reason.size());
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED: {
        Conn *c = pss->conn;
        if (c == nullptr) return 0;
        auth_->closed(c->identity);
        conns_.erase(c->id);
        bridge_->close_session(c->id);
        delete c;
        pss->conn = nullptr;
        return 0;
    }
    default:
        return 0;
    }
}

void Server::finish_http(std::uint64_t request_id, int status, std::string content_type, std::string body,
                         std::vector<std::pair<std::string, std::string>> headers) {
    auto it = http_requests_.find(request_id);
    if (it == http_requests_.end()) return; // the client went away
    auto *pss = static_cast<HttpPss *>(lws_wsi_user(it->second));
    if (pss == nullptr || pss->response == nullptr) return;
    HttpResponse &r = *pss->response;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    // Nothing but hashed static files may be cached without asking again (a CDN must never serve a stale answer).
    if (std::none_of(headers.begin(), headers.end(), [](const auto &h) { return h.first == "cache-control:"; }))
        headers.emplace_back("cache-control:", "no-cache");
    r.headers = std::move(headers);
    r.ready = true;
    lws_callback_on_writable(it->second);
}

void Server::start_http(lws *wsi, HttpPss &pss, const char *uri) {
    const std::uint64_t id = next_http_++;
    pss.request_id = id;
    pss.response = new HttpResponse();
    http_requests_[id] = wsi;
    const std::string path(uri != nullptr ? uri : "/");
    const bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (path.rfind("/auth/", 0) == 0) {
        if (!post)
            return finish_http(id, 405, "application/json",
                               error_body("ERR_METHOD_NOT_ALLOWED", "use POST for " + path));
        const std::string length = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (length.empty() || length == "0") return start_auth_request(wsi, id, path, "");
        pss.post_body = new std::string();
        pss.post_path = new std::string(path);
        return; // the body follows (LWS_CALLBACK_HTTP_BODY)
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) == 0) {
        finish_http(id, 405, "application/json",
                    R"({"error":{"code":"ERR_METHOD_NOT_ALLOWED","message":"only GET is supported here"}})");
        return;
    }
    if (path == "/healthz") return finish_http(id, 200, "text/plain", "ok\n");
    if (path == "/readyz") {
        const bool db = db_->pool_ready(), feed = db_->feed_ready(), settings = bridge_->ready();
        std::string body = std::string("{\"ready\":") + (ready() ? "true" : "false") +
                           ",\"database\":" + (db ? "true" : "false") + ",\"feed\":" + (feed ? "true" : "false") +
                           ",\"settings\":" + (settings ? "true" : "false") +
                           ",\"auth\":" + (auth_->ready() ? "true" : "false") +
                           ",\"draining\":" + (draining_ ? "true" : "false") + "}\n";
        return finish_http(id, ready() ? 200 : 503, "application/json", body);
    }
    if (path == "/metrics")
        return finish_http(id, 200, "text/plain; version=0.0.4",
                           metrics_->render(db_->pool_ready(), db_->feed_ready(), draining_));
    if (path.rfind("/docs/", 0) == 0) {
        const std::string rest = path.substr(6);
        const std::size_t slash = rest.find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size() ||
            rest.find('/', slash + 1) != std::string::npos)
            return finish_http(
                id, 400, "application/json",
                R"({"error":{"code":"ERR_MESSAGE_BADLY_FORMED","message":"use GET /docs/<collection>/<id>"}})");
        AuthResult who = authenticate_request(wsi);
        if (who.status != 0) {
            ++metrics_->auth_refused;
            return finish_http(id, who.status, "application/json", error_body(who.code, who.message),
                               {{"cache-control:", "no-cache"}});
        }
        char inm[256] = {0};
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0)
            lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH);
        const std::string if_none_match(inm);
        bridge_->http_snapshot(
            who.identity, rest.substr(0, slash), rest.substr(slash + 1),
            [this, id, if_none_match](int status, std::int64_t version, std::string body) {
                std::vector<std::pair<std::string, std::string>> headers{{"cache-control:", "no-cache"}};
                if (version >= 0) {
                    const std::string etag = "\"" + std::to_string(version) + "\"";
                    headers.emplace_back("etag:", etag);
                    if (status == 200 && etag_matches(if_none_match, etag)) {
                        finish_http(id, 304, "application/json", "", std::move(headers));
                        return;
                    }
                }
                finish_http(id, status, "application/json", std::move(body), std::move(headers));
            });
        return;
    }
    if (path.rfind("/api/", 0) == 0) return start_api_request(wsi, id, path);
    if (std::optional<StaticFile> file = static_files_.get(path))
        return finish_http(
            id, 200, std::move(file->content_type), std::move(file->body),
            {{"cache-control:", std::move(file->cache_control)}, {"x-content-type-options:", "nosniff"}});
    finish_http(id, 404, "application/json", R"({"error":{"code":"ERR_NOT_FOUND","message":"no such path"}})",
                {{"cache-control:", "no-cache"}});
}

// GET /api/me and /api/documents?collection=C, for the web editor. Both need an access token (cookie or Bearer).
void Server::start_api_request(lws *wsi, std::uint64_t id, const std::string &path) {
    const std::vector<std::pair<std::string, std::string>> no_cache{{"cache-control:", "no-cache"}};
    if (path != "/api/me" && path != "/api/documents")
        return finish_http(id, 404, "application/json",
                           error_body("ERR_NOT_FOUND", "no such API: use GET /api/me or /api/documents?collection=C"),
                           no_cache);
    AuthResult who = authenticate_request(wsi);
    if (who.status != 0) {
        ++metrics_->auth_refused;
        return finish_http(id, who.status, "application/json", error_body(who.code, who.message), no_cache);
    }
    if (path == "/api/me") {
        json_t *body = json_pack("{s:s%,s:s%,s:I}", "user", who.identity.user.data(), who.identity.user.size(), "org",
                                 who.identity.org.data(), who.identity.org.size(), "expires_at",
                                 static_cast<json_int_t>(who.identity.exp));
        if (body == nullptr) throw std::bad_alloc();
        if (who.identity.org.empty()) json_object_set_new(body, "org", json_null());
        const std::string text = collab::json_dump(body);
        json_decref(body);
        return finish_http(id, 200, "application/json", text, no_cache);
    }
    char arg[300] = {0};
    const char *collection = lws_get_urlarg_by_name(wsi, "collection=", arg, sizeof arg); // points into arg
    json_t *as_json = collection != nullptr ? json_string(collection) : nullptr;          // NULL unless valid UTF-8
    const bool valid = as_json != nullptr;
    json_decref(as_json);
    if (collection == nullptr || *collection == '\0' || !valid)
        return finish_http(id, 400, "application/json",
                           error_body("ERR_MESSAGE_BADLY_FORMED",
                                      "use GET /api/documents?collection=<collection> (UTF-8, percent-encoded)"),
                           no_cache);
    bridge_->http_list_documents(who.identity, collection, [this, id, no_cache](int status, std::string body) {
        finish_http(id, status, "application/json", std::move(body), no_cache);
    });
}

int Server::http_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    auto *pss = static_cast<HttpPss *>(user);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        start_http(wsi, *pss, static_cast<const char *>(in));
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (pss == nullptr || pss->post_body == nullptr) return 0;
        if (pss->post_body->size() + len > 16384) return -1; // auth requests are small
        pss->post_body->append(static_cast<const char *>(in), len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        if (pss == nullptr || pss->post_body == nullptr) return 0;
        std::string body = std::move(*pss->post_body), path = std::move(*pss->post_path);
        delete pss->post_body;
        delete pss->post_path;
        pss->post_body = nullptr;
        pss->post_path = nullptr;
        start_auth_request(wsi, pss->request_id, path, body);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (pss == nullptr || pss->response == nullptr || !pss->response->ready) return 0;
        HttpResponse &r = *pss->response;
        unsigned char buf[LWS_PRE + 8192]; // two session cookies with a JWT fit
        unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
        if (!r.headers_sent) {
            const bool has_body = r.status != 304;
            if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(r.status), r.content_type.c_str(),
                                            has_body ? r.body.size() : 0, &p, end))
                return 1;
            for (const auto &[name, value] : r.headers)
                if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char *>(name.c_str()),
                                                reinterpret_cast<const unsigned char *>(value.c_str()),
                                                static_cast<int>(value.size()), &p, end))
                    return 1;
            if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
            r.headers_sent = true;
            if (!has_body || r.body.empty()) {
                delete pss->response;
                pss->response = nullptr;
                http_requests_.erase(pss->request_id);
                return lws_http_transaction_completed(wsi) ? -1 : 0;
            }
            lws_callback_on_writable(wsi);
            return 0;
        }
        std::vector<unsigned char> body(LWS_PRE + r.body.size());
        std::memcpy(body.data() + LWS_PRE, r.body.data(), r.body.size());
        if (lws_write(wsi, body.data() + LWS_PRE, r.body.size(), LWS_WRITE_HTTP_FINAL) !=
            static_cast<int>(r.body.size()))
            return 1;
        delete pss->response;
        pss->response = nullptr;
        http_requests_.erase(pss->request_id);
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss != nullptr && pss->response != nullptr) {
            http_requests_.erase(pss->request_id);
            delete pss->response;
            pss->response = nullptr;
        }
        if (pss != nullptr) {
            delete pss->post_body;
            delete pss->post_path;
            pss->post_body = nullptr;
            pss->post_path = nullptr;
        }
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        ++live_wsi_;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (live_wsi_ > 0) --live_wsi_;
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        // Connections that are not (yet) authenticated sockets: HTTP requests and handshakes in progress.
        const std::size_t unauthenticated = live_wsi_ > conns_.size() ? live_wsi_ - conns_.size() : 0;
        if (unauthenticated >= static_cast<std::size_t>(config_.max_unauthenticated)) {
            ++metrics_->auth_refused;
            log_event(LogLevel::Warn, "connection_refused",
                      {{"reason", "too many unauthenticated connections (--max-unauthenticated)"},
                       {"unauthenticated", static_cast<std::int64_t>(unauthenticated)}});
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (draining_) {
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "this bridge is shutting down");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        db_->drain();
        if (stop_requested && !draining_) {
            draining_ = true;
            drain_deadline_ = lws_now_usecs() + static_cast<lws_usec_t>(config_.drain_timeout_s) * 1000000;
            log_event(LogLevel::Info, "draining", {{"sessions", static_cast<std::int64_t>(bridge_->session_count())}});
            bridge_->begin_drain();
            check_drain();
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

AuthResult Server::authenticate_request(lws *wsi) {
    AuthResult r;
    const std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
    if (!auth_->origin_allowed(origin)) {
        r.status = 403;
        r.code = "origin_not_allowed";
        r.message = "Origin " + origin + " is not allowed (--allowed-origin)";
        return r;
    }
    if (query_has_token(query_string(wsi))) {
        // Query strings end up in logs and browser history: a token there is refused (and never logged).
        r.status = 400;
        r.code = "token_in_query";
        r.message = "tokens in the URL are refused: send the access token as the collab_access cookie or an "
                    "Authorization: Bearer header (browsers: POST /auth/cookie turns a token into the cookie)";
        return r;
    }
    std::string token = bearer_token(header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION));
    if (token.empty()) token = cookie_value(header(wsi, WSI_TOKEN_HTTP_COOKIE), kAccessCookie);
    r = auth_->authenticate(token, unix_now());
    r.identity.ip = peer_address(wsi);
    if (r.code == jwt::kTokenKeyUnknown && lws_now_usecs() - keys_reloaded_at_ > 5000000) {
        // A token signed with a key rotated in a moment ago can arrive before the NOTIFY: look again (at most
        // every 5 s, so that junk tokens cannot make us query the database).
        keys_reloaded_at_ = lws_now_usecs();
        load_builtin_keys();
    }
    return r;
}

std::vector<std::pair<std::string, std::string>> Server::session_cookies(const std::string &access,
                                                                         const std::string &refresh) const {
    const std::string attrs = std::string("; HttpOnly; SameSite=Strict") + (config_.insecure_cookies ? "" : "; Secure");
    return {
        {"set-cookie:", std::string(kAccessCookie) + "=" + access +
                            "; Path=/; Max-Age=" + std::to_string(config_.access_token_ttl_s) + attrs},
        {"set-cookie:", std::string(kRefreshCookie) + "=" + refresh +
                            "; Path=/auth; Max-Age=" + std::to_string(config_.refresh_token_ttl_s) + attrs},
        {"cache-control:", "no-store"},
    };
}

std::vector<std::pair<std::string, std::string>> Server::cleared_cookies() const {
    const std::string attrs = std::string("; HttpOnly; SameSite=Strict") + (config_.insecure_cookies ? "" : "; Secure");
    return {
        {"set-cookie:", std::string(kAccessCookie) + "=; Path=/; Max-Age=0" + attrs},
        {"set-cookie:", std::string(kRefreshCookie) + "=; Path=/auth; Max-Age=0" + attrs},
        {"cache-control:", "no-store"},
    };
}

// Answers a session-issuing call (exchange_login_ticket, refresh_session): cookies and the session's facts.
void Server::finish_session_response(std::uint64_t id, DbResult &&r, bool clear_on_failure) {
    const auto fail = [&, this](int status, const std::string &code, const std::string &message) {
        ++metrics_->auth_refused;
        finish_http(id, status, "application/json", error_body(code, message),
                    clear_on_failure
                        ? cleared_cookies()
                        : std::vector<std::pair<std::string, std::string>>{{"cache-control:", "no-store"}});
    };
    if (!r.ok) {
        const bool client_error = r.sqlstate.rfind("PC", 0) == 0;
        if (!client_error) log_event(LogLevel::Warn, "auth_request_failed", {{"sqlstate", r.sqlstate}});
        const int status = !client_error ? 503 : r.sqlstate == "PC033" ? 403 : r.sqlstate == "PC006" ? 400 : 401;
        // Only a refused session clears the cookies: an outage must not log the user out.
        if (status != 401) clear_on_failure = false;
        return fail(status, client_error ? r.sqlstate : "ERR_DATABASE_UNAVAILABLE", r.message);
    }
    if (r.rows.empty()) return fail(401, "PC031", "no session");
    const auto &row = r.rows[0];
    const int error_col = r.column("error_code");
    if (error_col >= 0 && row[static_cast<std::size_t>(error_col)])
        return fail(401, *row[static_cast<std::size_t>(error_col)],
                    "the refresh token was used again after it had been rotated: the session is revoked; log in "
                    "again");
    const auto col = [&](const char *name) -> std::string {
        const int i = r.column(name);
        return i >= 0 && row[static_cast<std::size_t>(i)] ? *row[static_cast<std::size_t>(i)] : std::string();
    };
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "user", col("user_id").c_str(), "session_id",
                             col("session_id").c_str(), "access_expires_at", col("access_expires_at").c_str(),
                             "refresh_expires_at", col("refresh_expires_at").c_str());
    const std::string org = col("org");
    json_object_set_new(body, "org", org.empty() ? json_null() : json_string(org.c_str()));
    char *text = json_dumps(body, JSON_COMPACT);
    std::string out = text != nullptr ? text : "{}";
    free(text);
    json_decref(body);
    finish_http(id, 200, "application/json", out, session_cookies(col("access_token"), col("refresh_token")));
}

void Server::start_auth_request(lws *wsi, std::uint64_t id, const std::string &path, const std::string &body) {
    const std::string ip = peer_address(wsi);
    const std::string origin = header(wsi, WSI_TOKEN_ORIGIN);
    if (!auth_->origin_allowed(origin)) {
        ++metrics_->auth_refused;
        return finish_http(id, 403, "application/json",
                           error_body("origin_not_allowed", "Origin " + origin + " is not allowed (--allowed-origin)"));
    }
    if (!auth_->allow_auth_request(ip, lws_now_usecs() / 1000)) {
        ++metrics_->auth_refused;
        return finish_http(id, 429, "application/json",
                           error_body("too_many_auth_requests", "too many /auth requests from this address (at most " +
                                                                    std::to_string(config_.auth_rate_limit) +
                                                                    " per minute): wait and retry"));
    }
    json_error_t jerr;
    json_t *j = body.empty() ? collab::json_new_object() : json_loadb(body.data(), body.size(), 0, &jerr);
    std::unique_ptr<json_t, JsonDeleter> parsed(j);
    const auto text_field = [&](const char *name) -> std::string {
        json_t *v = parsed ? json_object_get(parsed.get(), name) : nullptr;
        return json_is_string(v) ? std::string(json_string_value(v), json_string_length(v)) : std::string();
    };
    if (!parsed || !json_is_object(parsed.get()))
        return finish_http(id, 400, "application/json",
                           error_body("ERR_MESSAGE_BADLY_FORMED", "the request body must be a JSON object"));
    const std::string ttl = std::to_string(config_.access_token_ttl_s);
    const std::string refresh_ttl = std::to_string(config_.refresh_token_ttl_s);
    const std::string cookies = header(wsi, WSI_TOKEN_HTTP_COOKIE);
    if (path == "/auth/cookie") {
        // For clients that cannot set headers on a WebSocket (browsers) but hold a token (an external issuer's):
        // the token moves into the HTTP-only collab_access cookie, which the upgrade then carries.
        const std::string token = bearer_token(header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION));
        if (token.empty())
            return finish_http(id, 400, "application/json",
                               error_body("token_missing", "send the access token as Authorization: Bearer <token>"));
        AuthResult who = auth_->authenticate(token, unix_now());
        if (who.status == 0 && who.identity.exp == 0) {
            who.status = 400;
            who.code = "auth_disabled";
            who.message = "this bridge runs with --insecure-no-auth";
        }
        if (who.status != 0) {
            ++metrics_->auth_refused;
            return finish_http(id, who.status, "application/json", error_body(who.code, who.message));
        }
        const std::string attrs =
            std::string("; HttpOnly; SameSite=Strict") + (config_.insecure_cookies ? "" : "; Secure");
        const std::int64_t max_age = std::max<std::int64_t>(0, who.identity.exp - unix_now());
        json_t *body =
            json_pack("{s:s,s:I}", "user", who.identity.user.c_str(), "exp", static_cast<json_int_t>(who.identity.exp));
        char *text = json_dumps(body, JSON_COMPACT);
        std::string out = text != nullptr ? text : "{}";
        free(text);
        json_decref(body);
        return finish_http(id, 200, "application/json", out,
                           {{"set-cookie:", std::string(kAccessCookie) + "=" + token +
                                                "; Path=/; Max-Age=" + std::to_string(max_age) + attrs},
                            {"cache-control:", "no-store"}});
    }
    if (path == "/auth/session") {
        const std::string ticket = text_field("ticket");
        if (ticket.empty())
            return finish_http(id, 400, "application/json",
                               error_body("ERR_MESSAGE_BADLY_FORMED",
                                          "send {\"ticket\": \"...\"}: a ticket from collab.create_login_ticket()"));
        return db_->query("SELECT * FROM collab.exchange_login_ticket($1, $2::int, $3::int)",
                          {ticket, ttl, refresh_ttl},
                          [this, id](DbResult &&r) { finish_session_response(id, std::move(r), false); });
    }
    if (path == "/auth/dev-login") {
        if (!config_.dev_login)
            return finish_http(id, 404, "application/json",
                               error_body("ERR_NOT_FOUND", "the development login is off (--dev-login)"));
        const std::string user = text_field("user"), org = text_field("org");
        if (user.empty())
            return finish_http(id, 400, "application/json",
                               error_body("ERR_MESSAGE_BADLY_FORMED", "send {\"user\": \"name\", \"org\": \"name\"}"));
        log_event(LogLevel::Warn, "dev_login", {{"user", user}, {"message", "DEVELOPMENT LOGIN: no password checked"}});
        DbParams params{user, org.empty() ? std::nullopt : std::optional<std::string>(org), ttl, refresh_ttl};
        return db_->query(
            "SELECT * FROM collab.exchange_login_ticket(collab.dev_create_login_ticket($1, $2), $3::int, $4::int)",
            std::move(params), [this, id](DbResult &&r) { finish_session_response(id, std::move(r), false); });
    }
    const std::string refresh = cookie_value(cookies, kRefreshCookie);
    if (path == "/auth/refresh") {
        if (refresh.empty())
            return finish_http(id, 401, "application/json",
                               error_body("PC031", "no refresh token cookie (collab_refresh): log in again"));
        return db_->query("SELECT * FROM collab.refresh_session($1, $2::int, $3::int, $4::int)",
                          {refresh, ttl, refresh_ttl, std::to_string(config_.refresh_grace_s)},
                          [this, id](DbResult &&r) { finish_session_response(id, std::move(r), true); });
    }
    if (path == "/auth/logout") {
        if (refresh.empty())
            return finish_http(id, 200, "application/json", "{\"logged_out\":false}\n", cleared_cookies());
        return db_->query("SELECT collab.logout($1)", {refresh}, [this, id](DbResult &&r) {
            if (!r.ok)
                return finish_http(id, 503, "application/json", error_body("ERR_DATABASE_UNAVAILABLE", r.message));
            const bool found = !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] == "t";
            finish_http(id, 200, "application/json",
                        std::string("{\"logged_out\":") + (found ? "true" : "false") + "}\n", cleared_cookies());
        });
    }
    finish_http(
        id, 404, "application/json",
        error_body("ERR_NOT_FOUND", "no such path: POST /auth/session, /auth/refresh, /auth/logout or /auth/cookie"));
}

void Server::schedule_expiry(const Conn &c) {
    if (c.identity.exp <= 0) return;
    const SessionId sid = c.id;
    const std::int64_t exp = c.identity.exp;
    schedule(std::max<std::int64_t>(0, exp - unix_now()) * 1000000 + 500000, [this, sid, exp] {
        auto it = conns_.find(sid);
        if (it == conns_.end() || it->second->identity.exp != exp) return; // gone, or a fresh token arrived
        ++metrics_->auth_sockets_closed;
        close(sid, kCloseTokenExpired, "access token expired: refresh it and reconnect");
    });
}

void Server::periodic_key_reload() {
    schedule(300LL * 1000000, [this] {
        load_builtin_keys();
        periodic_key_reload();
    });
}

void Server::load_builtin_keys() {
    if (auth_->insecure()) return;
    db_->query("SELECT kid, public_key_pem FROM collab.token_verification_keys()", {}, [this](DbResult &&r) {
        if (!r.ok) {
            log_event(LogLevel::Warn, "signing_keys_unavailable", {{"sqlstate", r.sqlstate}, {"message", r.message}});
            schedule(1000000, [this] { load_builtin_keys(); });
            return;
        }
        std::vector<jwt::BuiltinKey> keys;
        for (const auto &row : r.rows)
            if (row[0] && row[1]) keys.push_back({*row[0], *row[1]});
        try {
            auth_->set_builtin_keys(keys);
            log_event(LogLevel::Info, "signing_keys_loaded", {{"keys", static_cast<std::int64_t>(keys.size())}});
        } catch (const std::exception &e) {
            log_event(LogLevel::Error, "signing_keys_invalid", {{"message", e.what()}});
        }
    });
}

void Server::load_revocations() {
    if (auth_->insecure()) return;
    db_->query(
        "SELECT id, kind, subject, extract(epoch from revoked_at)::bigint FROM collab.revocations_since($1::bigint)",
        {std::to_string(auth_->last_revocation_id())}, [this](DbResult &&r) {
            if (!r.ok) {
                log_event(LogLevel::Warn, "revocations_unavailable",
                          {{"sqlstate", r.sqlstate}, {"message", r.message}});
                schedule(1000000, [this] { load_revocations(); });
                return;
            }
            for (const auto &row : r.rows)
                if (row[0] && row[1] && row[2] && row[3])
                    auth_->add_revocation(std::stoll(*row[0]), *row[1], *row[2], std::stoll(*row[3]));
            auth_->revocations_loaded();
            if (r.rows.empty()) return;
            log_event(LogLevel::Info, "revocations_loaded", {{"new", static_cast<std::int64_t>(r.rows.size())}});
            std::vector<SessionId> revoked;
            for (const auto &[sid, c] : conns_)
                if (auth_->revoked(c->identity, unix_now())) revoked.push_back(sid);
            for (SessionId sid : revoked) {
                ++metrics_->auth_sockets_closed;
                close(sid, kCloseRevoked, "access revoked: log in again");
            }
        });
}

void Server::on_auth_event(const std::string &payload) {
    if (payload == "keys") return load_builtin_keys();
    if (payload.rfind("revocation:", 0) == 0) return load_revocations();
}

// SIGTERM: commit and answer what was received, then close every socket with 1012 and stop.
void Server::check_drain() {
    const lws_usec_t now = lws_now_usecs();
    if (!closing_sockets_) {
        if (!bridge_->drained() && now < drain_deadline_) {
            schedule(50000, [this] { check_drain(); });
            return;
        }
        closing_sockets_ = true;
        close_deadline_ = now + 2000000;
        bridge_->close_all(kCloseServiceRestart, "server is restarting: reconnect");
    }
    if (!conns_.empty() && now < close_deadline_) {
        schedule(50000, [this] { check_drain(); });
        return;
    }
    log_event(LogLevel::Info, "drained", {{"open_sockets", static_cast<std::int64_t>(conns_.size())}});
    done_ = true;
    if (ev_loop_ != nullptr) ev_break(ev_loop_, EVBREAK_ALL);
    lws_cancel_service(context_);
}

int Server::run() {
    server_instance = this;
    try {
        auth_ = std::make_unique<Auth>(config_);
    } catch (const std::exception &e) {
        log_event(LogLevel::Error, "auth_config_invalid", {{"message", e.what()}});
        std::fprintf(stderr, "collab-bridge: %s\n", e.what());
        return 1;
    }
    if (config_.insecure_no_auth)
        log_event(LogLevel::Warn, "insecure_no_auth",
                  {{"message", "--insecure-no-auth: sockets are accepted WITHOUT A TOKEN and act as user "
                               "'anonymous'. For local development and benchmarks only; never in production."}});
    if (config_.dev_login)
        log_event(LogLevel::Warn, "dev_login_enabled",
                  {{"message", "--dev-login: POST /auth/dev-login logs in as ANY user without a password. For "
                               "development only."}});
    // Many idle sockets need many descriptors.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_json);

    static const lws_protocols protocols[] = {
        {"http", http_trampoline, sizeof(HttpPss), 0, 0, nullptr, 0},
        // rx_buffer_size is allocated per connection: keep it small (messages are reassembled from chunks anyway)
        {"sharedb", ws_trampoline, sizeof(WsPss), 4096, 0, nullptr, 0},
        {nullptr, nullptr, 0, 0, 0, nullptr, 0},
    };
    // Browsers and the ws package send no Sec-WebSocket-Protocol: make "sharedb" the vhost's default protocol.
    static const lws_protocol_vhost_options pvo_default = {nullptr, nullptr, "default", "1"};
    static const lws_protocol_vhost_options pvo = {nullptr, &pvo_default, "sharedb", ""};
    lws_retry_bo_t retry{};
    retry.secs_since_valid_ping = static_cast<uint16_t>(config_.ping_interval_s);
    retry.secs_since_valid_hangup = static_cast<uint16_t>(config_.idle_timeout_s);

    lws_context_creation_info info{};
    info.port = config_.port;
    info.iface = config_.host.c_str();
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    // With IPv6 enabled, lws binds an IPv4 address given as iface to the IPv6 wildcard; keep 127.0.0.1 local.
    if (config_.host.find(':') == std::string::npos) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.retry_and_idle_policy = &retry;
    info.pvo = &pvo;
    info.max_http_header_data = 4096;
    info.vhost_name = "collab-bridge";
    if (!start_event_loop(info)) return 1;
    context_ = lws_create_context(&info);
    if (context_ == nullptr) {
        log_event(LogLevel::Error, "listen_failed",
                  {{"host", config_.host},
                   {"port", static_cast<std::int64_t>(config_.port)},
                   {"message", ev_loop_ != nullptr
                                   ? "could not listen (is the port in use, or the address not local?) or load the "
                                     "libev plugin (--event-loop ev needs the package libwebsockets-evlib-ev)"
                                   : "could not listen (is the port in use, or the address not local?)"}});
        stop_event_loop();
        return 1;
    }
    signal_context = context_;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    metrics_ = std::make_unique<Metrics>();
    db_ = std::make_unique<Database>(config_.db, [ctx = context_] { lws_cancel_service(ctx); });
    bridge_ = std::make_unique<Bridge>(config_, *db_, *this, *metrics_);
    db_->on_notification(
        [this](const std::string &channel, const std::string &payload) { bridge_->on_notification(channel, payload); });
    bridge_->on_auth_event([this](const std::string &payload) { on_auth_event(payload); });
    bridge_->on_reauthenticate([this](SessionId sid, const std::string &token, Identity &identity) -> std::string {
        auto it = conns_.find(sid);
        if (it == conns_.end()) return "the socket is closing";
        AuthResult r = auth_->authenticate(token, unix_now());
        if (r.status != 0) return r.code + ": " + r.message;
        if (r.identity.exp == 0) return "this bridge runs without authentication (--insecure-no-auth)";
        if (r.identity.user != it->second->identity.user || r.identity.org != it->second->identity.org)
            return "the fresh token names another user or organization than this socket's";
        r.identity.ip = it->second->identity.ip;
        it->second->identity = r.identity;
        identity = r.identity;
        schedule_expiry(*it->second);
        return "";
    });
    db_->on_feed_state([this](bool up) {
        bridge_->on_feed_state(up);
        if (up) { // announcements may have been missed while the feed was down
            load_builtin_keys();
            load_revocations();
        }
    });
    db_->start();
    bridge_->start();
    load_builtin_keys();
    load_revocations();
    periodic_key_reload();
    log_event(LogLevel::Info, "listening", {{"host", config_.host}, {"port", static_cast<std::int64_t>(config_.port)}});

    if (ev_loop_ != nullptr) {
        while (!done_) // returns after ev_break (check_drain)
            ev_run(ev_loop_, 0);
    } else {
        while (!done_) {
            if (lws_service(context_, 0) < 0) break;
        }
    }
    db_->stop(config_.drain_timeout_s * 1000);
    signal_context = nullptr;
    lws_context_destroy(context_);
    context_ = nullptr;
    stop_event_loop();
    log_event(LogLevel::Info, "stopped", {});
    return 0;
}

} // namespace

int run_server(Config config) {
    Server server(std::move(config));
    return server.run();
}

} // namespace collab::bridge
