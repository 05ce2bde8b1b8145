// db-smoke: exercises collab-bridge's database layer (server/db.cpp) against a real PostgreSQL given by libpq's
// environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, ...). The role needs to be a superuser or have
// pg_signal_backend rights over its own sessions (the tests terminate their own backends). Prints one PASS/FAIL line
// per check and ends with "N passed, M failed"; exits 0 only when nothing failed.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "db.hpp"
#include "log.hpp"

namespace {

using collab::bridge::Database;
using collab::bridge::DbConfig;
using collab::bridge::DbParams;
using collab::bridge::DbResult;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char kUsage[] =
    R"(usage: db-smoke [--loop SECONDS [--restart-cmd CMD] [--restart-at SECONDS] [--expect-unavailable]]

Exercises collab-bridge's database layer against the PostgreSQL that libpq's environment variables name (PGHOST,
PGPORT, PGDATABASE, PGUSER, PGPASSWORD). The role must be allowed to terminate its own backends (a superuser, or a
member of pg_signal_backend).

Without --loop: functional checks (queries, concurrency, errors, NULLs, LISTEN/NOTIFY, losing pool and listener
connections, stop, an unreachable server, notification overflow).

--loop SECONDS     keep queries and NOTIFYs running for SECONDS and print a status line every second; meant to run
                   while the server restarts. At the end it checks that every query got an answer and that the pool
                   and the change feed work again.
--restart-cmd CMD  run CMD with /bin/sh at --restart-at seconds (default: a third of --loop), for example
                   'runuser -u postgres -- pg_ctl -D DATA restart -m fast'; then the feed must have been lost and
                   recovered
--expect-unavailable  the outage lasts longer than 5 s: some queries must fail with 08006 "database unavailable"
)";

int g_passed = 0, g_failed = 0;

void check(bool ok, const std::string &name, const std::string &detail = "") {
    if (ok) {
        ++g_passed;
        std::printf("PASS %s\n", name.c_str());
    } else {
        ++g_failed;
        std::printf("FAIL %s%s%s\n", name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
    }
    std::fflush(stdout);
}

std::string describe(const DbResult &r) {
    if (r.ok) return "ok, " + std::to_string(r.rows.size()) + " rows";
    return "error " + r.sqlstate + (r.connection_lost ? " (connection lost)" : "") + ": " + r.message;
}

std::string value(const DbResult &r, std::size_t row = 0, std::size_t col = 0) {
    if (!r.ok || row >= r.rows.size() || col >= r.rows[row].size() || !r.rows[row][col]) return "<none>";
    return *r.rows[row][col];
}

// The event loop of a test: wake() from database threads sets a flag; pump() drains until a condition holds.
class Harness {
  public:
    explicit Harness(DbConfig config) : db_(std::move(config), [this] { wake(); }) {
        db_.on_notification([this](const std::string &channel, const std::string &payload) {
            notifications.emplace_back(channel, payload);
        });
        db_.on_feed_state([this](bool up) { feed_events.push_back(up); });
    }

    Database &db() { return db_; }

    template <class Pred> bool pump(Pred pred, milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        for (;;) {
            db_.drain();
            if (pred()) return true;
            auto now = Clock::now();
            if (now >= deadline) return false;
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait_for(lock, std::min<Clock::duration>(deadline - now, milliseconds(100)), [this] { return woken_; });
            woken_ = false;
        }
    }

    // Runs one statement and waits for its result.
    DbResult run(const std::string &sql, DbParams params = {}, milliseconds timeout = milliseconds(15000)) {
        std::optional<DbResult> result;
        db_.query(sql, std::move(params), [&result](DbResult &&r) { result = std::move(r); });
        if (!pump([&] { return result.has_value(); }, timeout)) {
            DbResult r;
            r.sqlstate = "timeout";
            r.message = "no answer within " + std::to_string(timeout.count()) + " ms";
            // The callback still references `result`: keep draining until it has run.
            pump([&] { return result.has_value(); }, milliseconds(60000));
            return r;
        }
        return std::move(*result);
    }

    bool has_notification(const std::string &channel, const std::string &payload) const {
        return std::find(notifications.begin(), notifications.end(), std::make_pair(channel, payload)) !=
               notifications.end();
    }

    std::vector<std::pair<std::string, std::string>> notifications;
    std::vector<bool> feed_events;

  private:
    void wake() {
        std::lock_guard<std::mutex> lock(mu_);
        woken_ = true;
        cv_.notify_all();
    }

    std::mutex mu_;
    std::condition_variable cv_;
    bool woken_ = false;
    Database db_;
};

DbConfig base_config(const std::string &app, const std::string &channel) {
    DbConfig c;
    c.conninfo = ""; // libpq's PG* environment variables
    c.pool_size = 4;
    c.application_name = app;
    c.listen_channels = {channel};
    c.backoff_min_ms = 50;
    c.backoff_max_ms = 1000;
    return c;
}

const char kListenerPid[] = "SELECT pid FROM pg_catalog.pg_stat_activity WHERE application_name = $1 AND query LIKE "
                            "'LISTEN %' AND pid <> pg_catalog.pg_backend_pid()";

void functional_tests() {
    const std::string app = "db-smoke-" + std::to_string(::getpid());
    const std::string channel = "db smoke \"Ch\" " + std::to_string(::getpid()); // needs identifier quoting
    Harness h(base_config(app, channel));

    // A query queued before start() waits for a connection instead of failing.
    std::optional<DbResult> early;
    h.db().query("SELECT 1", {}, [&early](DbResult &&r) { early = std::move(r); });
    h.db().start();
    bool ready = h.pump([&] { return h.db().pool_ready() && h.db().feed_ready() && !h.feed_events.empty(); },
                        milliseconds(15000));
    check(ready, "connects: pool and feed ready, feed state true reported",
          "pool_ready=" + std::to_string(h.db().pool_ready()) + " feed_ready=" + std::to_string(h.db().feed_ready()));
    if (!ready) return;
    h.pump([&] { return early.has_value(); }, milliseconds(5000));
    check(early && early->ok && value(*early) == "1", "a query queued before start() runs once connected",
          early ? describe(*early) : "no answer");
    check(h.feed_events == std::vector<bool>{true}, "feed state events: exactly one true after connecting");

    DbResult r =
        h.run("SELECT pg_catalog.current_setting('search_path'), pg_catalog.current_setting('application_name')");
    check(r.ok && value(r, 0, 0).empty(), "search_path is empty on pool connections",
          describe(r) + " '" + value(r) + "'");
    check(r.ok && value(r, 0, 1) == app, "application_name is set", value(r, 0, 1));

    r = h.run("SELECT $1::pg_catalog.text AS a, $2::pg_catalog.text IS NULL AS b, NULL::pg_catalog.int4 AS c, "
              "'x'::pg_catalog.text AS \"Quoted Name\"",
              {std::string("h\xC3\xA9llo \"'\\ {}"), std::nullopt});
    bool values_ok = r.ok && r.rows.size() == 1 &&
                     r.columns == std::vector<std::string>{"a", "b", "c", "Quoted Name"} &&
                     value(r, 0, 0) == "h\xC3\xA9llo \"'\\ {}" && value(r, 0, 1) == "t" && !r.rows[0][2].has_value() &&
                     r.column("c") == 2 && r.column("Quoted Name") == 3 && r.column("zz") == -1;
    check(values_ok, "text parameters, NULL parameters, NULL results and column names", describe(r));

    {
        std::vector<std::optional<DbResult>> results(8);
        auto t0 = Clock::now();
        for (auto &slot : results) {
            h.db().query("SELECT pg_catalog.pg_sleep(0.3), pg_catalog.pg_backend_pid()", {},
                         [&slot](DbResult &&res) { slot = std::move(res); });
        }
        bool all = h.pump(
            [&] { return std::all_of(results.begin(), results.end(), [](const auto &s) { return s.has_value(); }); },
            milliseconds(15000));
        auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        std::set<std::string> pids;
        bool ok = all;
        for (const auto &s : results) {
            ok = ok && s->ok;
            if (s && s->ok) pids.insert(value(*s, 0, 1));
        }
        check(ok && pids.size() == 4 && ms < 1500, "8 x pg_sleep(0.3) run concurrently on 4 connections",
              "all_ok=" + std::to_string(ok) + " distinct_backends=" + std::to_string(pids.size()) +
                  " elapsed_ms=" + std::to_string(ms));
    }

    {
        const int n = 500;
        std::vector<int> answers(n, 0);
        std::vector<bool> right(n, false);
        for (int i = 0; i < n; ++i) {
            h.db().query("SELECT $1::pg_catalog.int8 * 2", {std::to_string(i)}, [&answers, &right, i](DbResult &&res) {
                ++answers[static_cast<std::size_t>(i)];
                right[static_cast<std::size_t>(i)] = res.ok && value(res) == std::to_string(2 * i);
            });
        }
        h.pump([&] { return h.db().in_flight() == 0; }, milliseconds(20000));
        bool once = std::all_of(answers.begin(), answers.end(), [](int a) { return a == 1; });
        bool correct = std::all_of(right.begin(), right.end(), [](bool b) { return b; });
        check(once && correct && h.db().in_flight() == 0 && h.db().queued() == 0,
              "500 queued queries: each answered exactly once and correctly, nothing left in flight");
    }

    r = h.run("SELECT 1/0");
    check(!r.ok && r.sqlstate == "22012" && r.message == "division by zero" && !r.connection_lost,
          "a failing query reports its SQLSTATE (22012) and message", describe(r));
    r = h.run("SELEC 1");
    check(!r.ok && r.sqlstate == "42601" && !r.connection_lost, "a syntax error reports 42601", describe(r));
    r = h.run("DO $$BEGIN RAISE EXCEPTION 'op does not fit' USING ERRCODE = 'PC002', DETAIL = 'at 5', "
              "HINT = 'rebase it'; END$$");
    check(!r.ok && r.sqlstate == "PC002" && r.message == "op does not fit" && r.detail == "at 5" &&
              r.hint == "rebase it",
          "a custom SQLSTATE with DETAIL and HINT", describe(r) + " detail='" + r.detail + "' hint='" + r.hint + "'");
    r = h.run("SELECT 'still fine'");
    check(r.ok && value(r) == "still fine", "the pool keeps working after errors", describe(r));
    {
        DbParams many(70000, std::string("1"));
        r = h.run("SELECT 1", std::move(many));
        check(!r.ok && r.sqlstate == "54023", "70000 parameters are refused with 54023", describe(r));
    }

    const std::string payload = "{\"c\":\"notes\",\"d\":\"n\xC3\xA9\",\"v\":1}";
    r = h.run("SELECT pg_catalog.pg_notify($1, $2), pg_catalog.pg_notify($1 || 'x', 'other channel')",
              {channel, payload});
    bool got = r.ok && h.pump([&] { return h.has_notification(channel, payload); }, milliseconds(5000));
    check(got, "NOTIFY on a channel that needs quoting is delivered with its payload", describe(r));
    h.pump([] { return false; }, milliseconds(200));
    check(
        std::none_of(h.notifications.begin(), h.notifications.end(), [&](const auto &n) { return n.first != channel; }),
        "only the listened channel is delivered");

    {
        // A statement whose backend is terminated mid-flight: outcome unknown, reported as connection_lost.
        std::optional<DbResult> sleeper;
        h.db().query("SELECT pg_catalog.pg_sleep(30) /* db-smoke sleeper */", {},
                     [&sleeper](DbResult &&res) { sleeper = std::move(res); });
        h.pump([] { return false; }, milliseconds(300));
        r = h.run("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE "
                  "application_name = $1 AND query LIKE '%db-smoke sleeper%' AND pid <> pg_catalog.pg_backend_pid()",
                  {app});
        bool answered = h.pump([&] { return sleeper.has_value(); }, milliseconds(10000));
        check(r.ok && r.rows.size() == 1 && answered && !sleeper->ok && sleeper->connection_lost &&
                  sleeper->sqlstate == "57P01",
              "a statement whose backend is terminated fails with connection_lost and the server's SQLSTATE (57P01)",
              describe(r) + " / " + (sleeper ? describe(*sleeper) : "no answer"));
    }

    {
        // Idle pool connections terminated: their workers notice and reconnect; queries never see the dead ones.
        r = h.run("SELECT pg_catalog.count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity "
                  "WHERE application_name = $1 AND pid <> pg_catalog.pg_backend_pid() AND query NOT LIKE 'LISTEN %'",
                  {app});
        h.pump([] { return false; }, milliseconds(300));
        std::vector<std::optional<DbResult>> results(20);
        for (auto &slot : results)
            h.db().query("SELECT 42", {}, [&slot](DbResult &&res) { slot = std::move(res); });
        bool all = h.pump(
            [&] { return std::all_of(results.begin(), results.end(), [](const auto &s) { return s.has_value(); }); },
            milliseconds(15000));
        std::string failures;
        for (const auto &s : results) {
            if (s && !s->ok) failures += describe(*s) + "; ";
        }
        check(r.ok && value(r) != "0" && all && failures.empty(),
              "after terminating idle pool backends (" + value(r) + "), 20 queries all succeed", failures);
        r = h.run("SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity WHERE application_name = $1 AND query "
                  "NOT LIKE 'LISTEN %'",
                  {app});
        bool refilled = false;
        for (int i = 0; i < 50 && !refilled; ++i) {
            refilled = r.ok && value(r) == "4";
            if (!refilled) {
                h.pump([] { return false; }, milliseconds(100));
                r = h.run("SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity WHERE application_name = $1 "
                          "AND query NOT LIKE 'LISTEN %'",
                          {app});
            }
        }
        check(refilled && h.db().pool_ready(), "the pool reconnects all 4 connections", describe(r) + " " + value(r));
    }

    {
        // The listener's backend terminated: feed false, then true after re-LISTEN, and NOTIFYs flow again.
        r = h.run(kListenerPid, {app});
        check(r.ok && r.rows.size() == 1, "the listener's backend is found in pg_stat_activity", describe(r));
        std::string pid = value(r);
        std::size_t before = h.feed_events.size();
        r = h.run("SELECT pg_catalog.pg_terminate_backend($1::pg_catalog.int4)", {pid});
        bool cycled = h.pump(
            [&] {
                return h.feed_events.size() >= before + 2 && !h.feed_events[before] && h.feed_events.back() &&
                       h.db().feed_ready();
            },
            milliseconds(15000));
        std::string events;
        for (std::size_t i = before; i < h.feed_events.size(); ++i)
            events += h.feed_events[i] ? "true " : "false ";
        check(r.ok && value(r) == "t" && cycled, "terminating the listener: feed state false, then true again",
              "events: " + events);
        r = h.run(kListenerPid, {app});
        check(r.ok && r.rows.size() == 1 && value(r) != pid, "the listener runs on a new backend", describe(r));
        const std::string payload2 = "after reconnect";
        r = h.run("SELECT pg_catalog.pg_notify($1, $2)", {channel, payload2});
        got = r.ok && h.pump([&] { return h.has_notification(channel, payload2); }, milliseconds(5000));
        check(got, "NOTIFY is delivered after the listener reconnected", describe(r));
    }

    {
        // Overflow: a database layer that nobody drains drops notifications beyond its cap and reports a feed
        // loss + recovery instead (the bridge resyncs).
        DbConfig c = base_config(app + "-overflow", channel);
        c.pool_size = 1;
        c.max_queued_notifications = 10;
        Harness small(c);
        small.db().start();
        bool up =
            small.pump([&] { return small.db().feed_ready() && !small.feed_events.empty(); }, milliseconds(10000));
        small.feed_events.clear();
        r = h.run("SELECT pg_catalog.count(pg_catalog.pg_notify($1, i::pg_catalog.text)) FROM "
                  "pg_catalog.generate_series(1, 50) AS i",
                  {channel});
        // Give the listener time to read all 50 without draining, then drain once.
        std::this_thread::sleep_for(milliseconds(1000));
        small.db().drain();
        std::size_t received = small.notifications.size();
        check(up && r.ok && received < 50 && small.feed_events == std::vector<bool>{false, true},
              "undrained notifications beyond the cap are dropped and reported as feed false, true",
              "received " + std::to_string(received) + " of 50, feed events " +
                  std::to_string(small.feed_events.size()));
        small.db().stop(2000);
    }

    {
        // stop(): queued and running statements finish and are answered; later queries fail at once.
        std::vector<std::optional<DbResult>> results(6);
        for (auto &slot : results) {
            h.db().query("SELECT pg_catalog.pg_sleep(0.2), 'done'", {},
                         [&slot](DbResult &&res) { slot = std::move(res); });
        }
        auto t0 = Clock::now();
        h.db().stop(5000);
        auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        h.db().drain();
        bool all_ok = std::all_of(results.begin(), results.end(),
                                  [](const auto &s) { return s && s->ok && value(*s, 0, 1) == "done"; });
        check(all_ok && ms < 4000, "stop(5000) lets 6 queued statements finish; their callbacks run in drain()",
              "elapsed_ms=" + std::to_string(ms));
        std::optional<DbResult> late;
        h.db().query("SELECT 1", {}, [&late](DbResult &&res) { late = std::move(res); });
        h.db().drain();
        check(late && !late->ok && late->sqlstate == "08006" && !late->connection_lost,
              "a query after stop() fails at once with 08006", late ? describe(*late) : "no answer");
        check(h.db().in_flight() == 0 && !h.db().pool_ready() && !h.db().feed_ready(),
              "after stop(): nothing in flight, pool and feed not ready");
    }

    {
        // A server that cannot be reached: queries wait, then fail with 08006 after unavailable_after_ms.
        DbConfig c = base_config(app + "-down", channel);
        c.conninfo = "host=/nonexistent-db-smoke-dir port=1";
        c.unavailable_after_ms = 1000;
        Harness down(c);
        down.db().start();
        auto t0 = Clock::now();
        r = down.run("SELECT 1", {}, milliseconds(10000));
        auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        check(!r.ok && r.sqlstate == "08006" && r.message.find("database unavailable") != std::string::npos &&
                  ms >= 900 && ms < 5000,
              "unreachable server: a queued query fails with 08006 'database unavailable' after ~1 s",
              describe(r) + " after " + std::to_string(ms) + " ms");
        t0 = Clock::now();
        r = down.run("SELECT 1", {}, milliseconds(10000));
        ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        check(!r.ok && r.sqlstate == "08006" && ms < 200, "while unavailable, new queries fail at once",
              describe(r) + " after " + std::to_string(ms) + " ms");
        check(!down.db().pool_ready() && !down.db().feed_ready() && down.feed_events.empty(),
              "unreachable server: pool and feed not ready, no feed events");
        t0 = Clock::now();
        down.db().stop(1000);
        ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
        check(ms < 1500, "stop() returns promptly while reconnecting", "elapsed_ms=" + std::to_string(ms));
    }
}

struct LoopOptions {
    int seconds = 0;
    std::string restart_cmd;
    double restart_at = -1;
    bool expect_unavailable = false;
};

void loop_test(const LoopOptions &opt) {
    const std::string app = "db-smoke-loop-" + std::to_string(::getpid());
    const std::string channel = "db_smoke_loop_" + std::to_string(::getpid());
    Harness h(base_config(app, channel));
    h.db().start();
    bool ready = h.pump([&] { return h.db().pool_ready() && h.db().feed_ready(); }, milliseconds(15000));
    check(ready, "loop: connected");
    if (!ready) return;

    std::uint64_t submitted = 0, answered = 0, ok = 0, lost = 0, unavailable = 0, wrong = 0;
    std::map<std::string, std::uint64_t> by_state;
    Clock::time_point last_failure{}, restart_done{};
    std::uint64_t ok_after_restart = 0;
    std::atomic<bool> restart_finished{false};
    std::atomic<int> restart_status{0};
    std::thread restarter;
    bool restart_started = false;
    std::uint64_t notify_seq = 0;
    // NOTIFYs committed with the number of feed events seen when they were sent: those sent in the last feed epoch
    // (no loss since) must all be delivered.
    std::map<std::string, std::size_t> notified;
    std::size_t feed_events_seen = h.feed_events.size();

    const auto t0 = Clock::now();
    const double restart_at = opt.restart_at >= 0 ? opt.restart_at : opt.seconds / 3.0;
    auto next_status = t0 + milliseconds(1000);
    auto next_notify = t0;
    std::uint64_t in_progress = 0;
    for (;;) {
        auto now = Clock::now();
        double t = std::chrono::duration<double>(now - t0).count();
        if (t >= opt.seconds) break;
        if (!opt.restart_cmd.empty() && !restart_started && t >= restart_at) {
            restart_started = true;
            std::printf("t=%.1fs running restart command\n", t);
            std::fflush(stdout);
            restarter = std::thread([&] {
                restart_status = std::system(opt.restart_cmd.c_str());
                restart_finished = true;
            });
        }
        if (restart_finished && restart_done == Clock::time_point{}) {
            restart_done = now;
            std::printf("t=%.1fs restart command finished with status %d\n", t, restart_status.load());
            std::fflush(stdout);
        }
        while (in_progress < 16) {
            std::uint64_t id = submitted++;
            ++in_progress;
            h.db().query("SELECT $1::pg_catalog.int8 + 1", {std::to_string(id)}, [&, id](DbResult &&res) {
                --in_progress;
                ++answered;
                if (res.ok) {
                    ++ok;
                    if (value(res) != std::to_string(id + 1)) ++wrong;
                    if (restart_done != Clock::time_point{}) ++ok_after_restart;
                } else {
                    last_failure = Clock::now();
                    ++by_state[res.sqlstate];
                    if (res.connection_lost) ++lost;
                    if (res.message.find("database unavailable") != std::string::npos) ++unavailable;
                }
            });
        }
        if (now >= next_notify && h.db().feed_ready() && h.db().pool_ready()) {
            next_notify = now + milliseconds(200);
            std::string payload = "n" + std::to_string(notify_seq++);
            std::size_t epoch = h.feed_events.size();
            h.db().query("SELECT pg_catalog.pg_notify($1, $2)", {channel, payload},
                         [&notified, payload, epoch](DbResult &&res) {
                             if (res.ok) notified.emplace(payload, epoch);
                         });
        }
        for (; feed_events_seen < h.feed_events.size(); ++feed_events_seen) {
            bool up = h.feed_events[feed_events_seen];
            std::printf("t=%.1fs feed state %s\n", t, up ? "up" : "down");
            std::fflush(stdout);
        }
        if (now >= next_status) {
            next_status += milliseconds(1000);
            std::string states;
            for (auto &[k, v] : by_state)
                states += " " + k + "=" + std::to_string(v);
            std::printf("t=%.1fs submitted=%llu ok=%llu failed=%llu pool_ready=%d feed_ready=%d queued=%zu%s\n", t,
                        static_cast<unsigned long long>(submitted), static_cast<unsigned long long>(ok),
                        static_cast<unsigned long long>(answered - ok), h.db().pool_ready(), h.db().feed_ready(),
                        h.db().queued(), states.c_str());
            std::fflush(stdout);
        }
        h.pump([] { return true; }, milliseconds(0));
        h.pump([&] { return in_progress < 16; }, milliseconds(50));
    }
    if (restarter.joinable()) restarter.join();
    if (restart_finished && restart_done == Clock::time_point{}) restart_done = Clock::now();

    // Recovery: a fresh query and a fresh NOTIFY must work now.
    DbResult r = h.run("SELECT 'recovered'", {}, milliseconds(20000));
    check(r.ok && value(r) == "recovered", "loop: the pool answers queries at the end", describe(r));
    bool feed = h.pump([&] { return h.db().feed_ready(); }, milliseconds(20000));
    std::string payload = "final-" + std::to_string(::getpid());
    r = h.run("SELECT pg_catalog.pg_notify($1, $2)", {channel, payload});
    bool got = feed && r.ok && h.pump([&] { return h.has_notification(channel, payload); }, milliseconds(5000));
    check(got, "loop: the change feed delivers a NOTIFY at the end", describe(r));
    std::size_t expected = 0, received = 0;
    for (const auto &[p, epoch] : notified) {
        if (epoch != h.feed_events.size()) continue;
        ++expected;
        received += h.has_notification(channel, p) ? 1 : 0;
    }
    check(expected > 0 && received == expected, "loop: every NOTIFY committed since the last feed recovery arrived",
          std::to_string(received) + " of " + std::to_string(expected));

    h.db().stop(10000);
    h.db().drain();
    check(answered == submitted && in_progress == 0, "loop: every query got exactly one answer",
          "submitted=" + std::to_string(submitted) + " answered=" + std::to_string(answered));
    check(wrong == 0, "loop: every successful answer was right", std::to_string(wrong) + " wrong");
    std::string states;
    for (auto &[k, v] : by_state)
        states += " " + k + "=" + std::to_string(v);
    std::printf("loop summary: submitted=%llu ok=%llu failed=%llu connection_lost=%llu unavailable=%llu%s\n",
                static_cast<unsigned long long>(submitted), static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(answered - ok), static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(unavailable), states.c_str());
    if (!opt.restart_cmd.empty()) {
        check(restart_finished && restart_status == 0, "loop: the restart command succeeded",
              "status " + std::to_string(restart_status.load()));
        bool lost_once = std::find(h.feed_events.begin(), h.feed_events.end(), false) != h.feed_events.end();
        check(lost_once && !h.feed_events.empty() && h.feed_events.back(),
              "loop: the feed was lost during the restart and came back");
        check(ok_after_restart > 0, "loop: queries succeeded after the restart",
              std::to_string(ok_after_restart) + " ok after the restart command finished");
        bool clean_tail = last_failure == Clock::time_point{} || restart_done == Clock::time_point{} ||
                          last_failure < Clock::now() - milliseconds(2000);
        check(clean_tail, "loop: no failures in the last 2 s");
    }
    if (opt.expect_unavailable) {
        check(unavailable > 0, "loop: queries failed with 'database unavailable' during the long outage",
              std::to_string(unavailable));
    }
}

bool parse_int(const char *s, int &out) {
    char *end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 86400) return false;
    out = static_cast<int>(v);
    return true;
}

} // namespace

int main(int argc, char **argv) {
    LoopOptions loop;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto need = [&](const char *what) -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "db-smoke: %s needs a value (%s); see --help\n", a.c_str(), what);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--loop") {
            const char *v = need("SECONDS");
            if (!parse_int(v, loop.seconds) || loop.seconds < 1) {
                std::fprintf(stderr, "db-smoke: --loop: '%s' is not a number of seconds (1-86400)\n", v);
                return 2;
            }
        } else if (a == "--restart-cmd") {
            loop.restart_cmd = need("CMD");
        } else if (a == "--restart-at") {
            int s = 0;
            const char *v = need("SECONDS");
            if (!parse_int(v, s)) {
                std::fprintf(stderr, "db-smoke: --restart-at: '%s' is not a number of seconds (0-86400)\n", v);
                return 2;
            }
            loop.restart_at = s;
        } else if (a == "--expect-unavailable") {
            loop.expect_unavailable = true;
        } else {
            std::fprintf(stderr, "db-smoke: unknown argument '%s'; see --help\n", a.c_str());
            return 2;
        }
    }
    if (loop.seconds == 0 && (!loop.restart_cmd.empty() || loop.restart_at >= 0 || loop.expect_unavailable)) {
        std::fprintf(stderr, "db-smoke: --restart-cmd, --restart-at and --expect-unavailable need --loop\n");
        return 2;
    }
    if (const char *lvl = std::getenv("DB_SMOKE_LOG_LEVEL")) {
        collab::bridge::LogLevel level;
        if (collab::bridge::parse_log_level(lvl, level)) collab::bridge::set_log_level(level);
    } else {
        collab::bridge::set_log_level(collab::bridge::LogLevel::Warn);
    }
    try {
        if (loop.seconds > 0) {
            loop_test(loop);
        } else {
            functional_tests();
        }
    } catch (const std::exception &e) {
        check(false, "no exception", e.what());
    }
    std::printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
