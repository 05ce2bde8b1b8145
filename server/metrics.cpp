// collab-bridge: metrics in the Prometheus text exposition format 0.0.4 (see metrics.hpp).

#include "metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace collab::bridge {

namespace {

// Shortest round-trip decimal form ("0.0005", "1", "1024", "1e-09"), which Prometheus parses as a Go float.
std::string format_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[128];
    double mag = std::fabs(v);
    // Plain decimals where they stay short ("0.0005" rather than "5e-04"); exponent form for extreme magnitudes.
    bool fixed = mag == 0 || (mag >= 1e-6 && mag < 1e15);
    auto [end, ec] = fixed ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                           : std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

// Label values escape backslash, double quote and newline.
std::string escape_label(const std::string &v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void header(std::string &out, const std::string &name, const char *type, const std::string &help) {
    out += "# HELP " + name + " " + help + "\n";
    out += "# TYPE " + name + " " + type + "\n";
}

template <class T>
void scalar(std::string &out, const std::string &name, const char *type, const std::string &help, T value) {
    header(out, name, type, help);
    out += name + " " + std::to_string(value) + "\n";
}

std::vector<double> latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

std::vector<double> batch_buckets() {
    std::vector<double> b;
    for (double v = 1; v <= 1024; v *= 2)
        b.push_back(v);
    return b;
}

const std::string kPrefix = "collab_bridge_";

} // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end() ||
        std::any_of(bounds_.begin(), bounds_.end(), [](double b) { return !std::isfinite(b); })) {
        throw std::invalid_argument("histogram bucket bounds must be finite, strictly increasing and not empty");
    }
    counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
    if (std::isnan(value)) return;
    // Bucket i counts bounds_[i-1] < value <= bounds_[i]; the last one is +Inf.
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    sum_ += value;
    ++count_;
}

void Histogram::render(std::string &out, const std::string &name, const std::string &help) const {
    header(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += name + "_bucket{le=\"" + format_double(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += counts_.back();
    out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    out += name + "_sum " + format_double(sum_) + "\n";
    out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : batch_size(batch_buckets()), commit_seconds(latency_buckets()), fanout_seconds(latency_buckets()) {}

std::string Metrics::render(bool db_ready, bool feed_ready, bool draining) const {
    std::string out;
    out.reserve(4096);
    const std::string &p = kPrefix;
    scalar(out, p + "connections", "gauge", "Open WebSocket connections.", connections);
    scalar(out, p + "subscriptions", "gauge", "Document subscriptions held by open sockets.", subscriptions);
    // Not "connections_total": in OpenMetrics that would be the counter family "connections", clashing with the gauge.
    scalar(out, p + "connections_opened_total", "counter", "WebSocket connections accepted.", connections_total);
    scalar(out, p + "messages_received_total", "counter", "WebSocket messages received.", messages_received);
    scalar(out, p + "messages_sent_total", "counter", "WebSocket messages sent.", messages_sent);
    scalar(out, p + "ops_committed_total", "counter", "Ops committed by this bridge's submits.", ops_committed);
    scalar(out, p + "batches_total", "counter", "Group-commit transactions.", batches);
    scalar(out, p + "notifications_total", "counter", "Change-feed notifications received.", notifications);
    scalar(out, p + "slow_consumers_closed_total", "counter",
           "Sockets closed because their outbound queue was over its limit.", slow_consumers_closed);
    scalar(out, p + "rate_limited_total", "counter",
           "Times a socket sent more than --rate-limit messages per second and was read more slowly.", rate_limited);
    scalar(out, p + "auth_refused_total", "counter",
           "WebSocket handshakes and /auth requests refused (token, origin, connection caps, rate).", auth_refused);
    scalar(out, p + "auth_sockets_closed_total", "counter",
           "Sockets closed because their token expired or was revoked.", auth_sockets_closed);
    header(out, p + "errors_total", "counter", "Error replies sent to clients, by ShareDB error code.");
    for (const auto &[code, count] : errors_by_code) {
        out += p + "errors_total{code=\"" + escape_label(code) + "\"} " + std::to_string(count) + "\n";
    }
    batch_size.render(out, p + "batch_size", "Ops per group-commit transaction.");
    commit_seconds.render(out, p + "commit_seconds",
                          "Time from a submit's arrival to its commit being acknowledged by the database.");
    fanout_seconds.render(out, p + "fanout_seconds",
                          "Time from seeing a commit (local result or notification) to queueing the op to a "
                          "subscriber.");
    scalar(out, p + "db_ready", "gauge", "1 when at least one database pool connection is up.", db_ready ? 1 : 0);
    scalar(out, p + "feed_ready", "gauge", "1 when the LISTEN connection is up and listening.", feed_ready ? 1 : 0);
    scalar(out, p + "draining", "gauge", "1 while the bridge drains after SIGTERM.", draining ? 1 : 0);
    return out;
}

} // namespace collab::bridge
