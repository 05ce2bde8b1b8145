// collab-bridge: metrics, rendered in the Prometheus text format at /metrics. Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace collab::bridge {

// A histogram with fixed buckets (seconds for latencies, counts for sizes).
class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    void render(std::string &out, const std::string &name, const std::string &help) const;

  private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_; // per bucket (not cumulative), plus +Inf
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

struct Metrics {
    Metrics();
    // gauges
    std::int64_t connections = 0;
    std::int64_t subscriptions = 0;
    // counters
    std::uint64_t connections_total = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t ops_committed = 0;
    std::uint64_t batches = 0;
    std::uint64_t notifications = 0;
    std::uint64_t slow_consumers_closed = 0;
    std::uint64_t rate_limited = 0;        // times a socket went over --rate-limit and was read more slowly
    std::uint64_t auth_refused = 0;        // sockets and /auth/* requests refused (bad token, origin, caps)
    std::uint64_t auth_sockets_closed = 0; // sockets closed for an expired or revoked token
    std::map<std::string, std::uint64_t> errors_by_code; // ShareDB error code -> count
    // histograms
    Histogram batch_size;     // ops per group commit
    Histogram commit_seconds; // submit received -> commit acknowledged by the database
    Histogram fanout_seconds; // commit seen (local result or notification) -> op queued to a subscriber socket

    std::string render(bool db_ready, bool feed_ready, bool draining) const;
};

} // namespace collab::bridge
