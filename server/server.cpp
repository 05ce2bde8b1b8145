// collab-bridge: the libwebsockets layer. One vhost serves HTTP (health, readiness, metrics, document snapshots) and
// the WebSocket protocol on the same port; complete text messages go to the Bridge, which queues replies that are
// written one per writable callback. Everything runs on the event loop thread; database threads only wake it.
#include "server.hpp"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <map>
#include <unordered_map>

#include "bridge.hpp"
#include "log.hpp"

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

// One WebSocket connection.
struct Conn {
    SessionId id = 0;
    lws *wsi = nullptr;
    std::string rx; // message being reassembled from fragments
    bool rx_binary = false;
    bool rx_too_large = false;
    int close_code = 0; // close once the queue is written
    std::string close_reason;
    std::vector<unsigned char> tx; // LWS_PRE + message
    double tokens = 0;             // rate limit bucket
    lws_usec_t refilled_at = 0;
    lws_sorted_usec_list_t unthrottle{};
    bool throttled = false;
};

struct WsPss {
    Conn *conn;
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
};

class Server final : public Transport {
  public:
    Server(Config config) : config_(std::move(config)) {}

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
    static void on_timer(lws_sorted_usec_list_t *sul);
    static void on_unthrottle(lws_sorted_usec_list_t *sul);
    void on_message(Conn &c);
    void start_http(lws *wsi, HttpPss &pss, const char *uri);
    void finish_http(std::uint64_t request_id, int status, std::string content_type, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {});
    void check_drain();
    bool ready() const { return bridge_->ready() && db_->pool_ready() && db_->feed_ready() && !draining_; }

    Config config_;
    lws_context *context_ = nullptr;
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<Bridge> bridge_;
    std::unordered_map<SessionId, Conn *> conns_;
    SessionId next_session_ = 1;
    std::unordered_map<std::uint64_t, lws *> http_requests_;
    std::uint64_t next_http_ = 1;
    std::multimap<lws_usec_t, std::function<void()>> timers_;
    lws_sorted_usec_list_t timer_sul_{};
    lws_usec_t timer_due_ = 0;
    bool draining_ = false;
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
    lws_sul_schedule(context_, 0, &timer_sul_, on_timer, due > now ? due - now : 1);
}

void Server::on_timer(lws_sorted_usec_list_t *) {
    Server &self = *server_instance;
    self.timer_due_ = 0;
    const lws_usec_t now = lws_now_usecs();
    while (!self.timers_.empty() && self.timers_.begin()->first <= now) {
        std::function<void()> fn = std::move(self.timers_.begin()->second);
        self.timers_.erase(self.timers_.begin());
        try {
            fn();
        } catch (const std::exception &e) {
            log_event(LogLevel::Error, "timer_failed", {{"message", e.what()}});
        }
    }
    self.arm_timer();
}

void Server::on_unthrottle(lws_sorted_usec_list_t *sul) {
    Conn *c = lws_container_of(sul, Conn, unthrottle);
    c->throttled = false;
    lws_rx_flow_control(c->wsi, 1);
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
        lws_rx_flow_control(c.wsi, 0);
        lws_sul_schedule(context_, 0, &c.unthrottle, on_unthrottle,
                         static_cast<lws_usec_t>((-c.tokens + 1) / rate * 1e6));
    }
}

int Server::ws_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    auto *pss = static_cast<WsPss *>(user);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        auto *c = new Conn();
        c->id = next_session_++;
        c->wsi = wsi;
        c->tokens = 2.0 * config_.rate_limit_per_second;
        c->refilled_at = lws_now_usecs();
        pss->conn = c;
        conns_[c->id] = c;
        bridge_->open_session(c->id);
        if (draining_) close(c->id, kCloseServiceRestart, "server is restarting");
        return 0;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (draining_) {
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "this bridge is shutting down");
            return 1;
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
        lws_sul_cancel(&c->unthrottle);
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
        char inm[256] = {0};
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) > 0)
            lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH);
        const std::string if_none_match(inm);
        bridge_->http_snapshot(
            rest.substr(0, slash), rest.substr(slash + 1),
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
    finish_http(id, 404, "application/json", R"({"error":{"code":"ERR_NOT_FOUND","message":"no such path"}})");
}

int Server::http_callback(lws *wsi, lws_callback_reasons reason, void *user, void *in, size_t len) {
    auto *pss = static_cast<HttpPss *>(user);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        start_http(wsi, *pss, static_cast<const char *>(in));
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (pss == nullptr || pss->response == nullptr || !pss->response->ready) return 0;
        HttpResponse &r = *pss->response;
        unsigned char buf[LWS_PRE + 2048];
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
        return 0;
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
    lws_cancel_service(context_);
}

int Server::run() {
    server_instance = this;
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
    context_ = lws_create_context(&info);
    if (context_ == nullptr) {
        log_event(LogLevel::Error, "listen_failed",
                  {{"host", config_.host},
                   {"port", static_cast<std::int64_t>(config_.port)},
                   {"message", "could not listen (is the port in use, or the address not local?)"}});
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
    db_->on_feed_state([this](bool up) { bridge_->on_feed_state(up); });
    db_->start();
    bridge_->start();
    log_event(LogLevel::Info, "listening", {{"host", config_.host}, {"port", static_cast<std::int64_t>(config_.port)}});

    while (!done_) {
        if (lws_service(context_, 0) < 0) break;
    }
    db_->stop(config_.drain_timeout_s * 1000);
    lws_context_destroy(context_);
    signal_context = nullptr;
    context_ = nullptr;
    log_event(LogLevel::Info, "stopped", {});
    return 0;
}

} // namespace

int run_server(Config config) {
    Server server(std::move(config));
    return server.run();
}

} // namespace collab::bridge
