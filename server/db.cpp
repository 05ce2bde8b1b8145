// collab-bridge: the database layer (see db.hpp).
//
// Threads:
//   - pool_size workers, each owning one libpq connection. A worker takes the oldest queued job it may run (one
//     without affinity, one with its own, or one whose connection is down), sends it with
//     PQsendQueryParams (the connection is non-blocking so that a stop can interrupt it), waits for the result with
//     poll() on the socket and the stop eventfd, and queues the completion for drain().
//   - one listener with its own connection: LISTEN on each channel, then poll() the socket and queue notifications.
//   - one watchdog that fails queued queries once no pool connection has been up for unavailable_after_ms.
// Every thread that loses its connection reconnects with jittered exponential backoff. Callbacks and handlers run
// only in drain(), on the caller's (the event loop's) thread.

#include "db.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "log.hpp"

namespace collab::bridge {

int DbResult::column(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) return static_cast<int>(i);
    }
    return -1;
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often an idle worker checks that its connection is still alive (a server restart closes it).
constexpr milliseconds kIdleCheckInterval{1000};
// PostgreSQL's limit on bind parameters (the protocol counts them in 16 bits).
constexpr std::size_t kMaxParams = 65535;

struct ConnDeleter {
    void operator()(PGconn *c) const noexcept { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ResultDeleter {
    void operator()(PGresult *r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// libpq messages end with a newline (and may hold several lines); keep them on one log line / one error message.
std::string clean_message(const char *msg) {
    std::string out;
    bool space = false;
    for (const char *p = msg != nullptr ? msg : ""; *p != '\0'; ++p) {
        bool ws = *p == '\n' || *p == '\t' || *p == '\r';
        if (ws) {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(*p);
    }
    return out;
}

// Connection failures are logged at warn on attempts 1, 2, 4, 8, ... and at debug in between, so that a long outage
// does not flood the log while each thread retries.
LogLevel connect_failure_level(int attempt) {
    return (attempt & (attempt - 1)) == 0 ? LogLevel::Warn : LogLevel::Debug;
}

DbResult failure(std::string sqlstate, std::string message, bool connection_lost = false) {
    DbResult r;
    r.ok = false;
    r.sqlstate = std::move(sqlstate);
    r.message = std::move(message);
    r.connection_lost = connection_lost;
    return r;
}

enum class WaitOutcome { Ready, Stopped, TimedOut, Failed };

// Waits until fd has one of events (or an error/hangup), the stop eventfd is readable, or the deadline passes.
WaitOutcome wait_fd(int fd, short events, int stop_fd, Clock::time_point deadline = Clock::time_point::max()) {
    if (fd < 0) return WaitOutcome::Failed;
    for (;;) {
        pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int timeout = -1;
        if (deadline != Clock::time_point::max()) {
            auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return WaitOutcome::TimedOut;
            timeout = static_cast<int>(std::min<long long>(left, 60000));
        }
        int n = ::poll(fds, 2, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            return WaitOutcome::Failed;
        }
        if (fds[1].revents != 0) return WaitOutcome::Stopped;
        if (n > 0) return WaitOutcome::Ready;
        // timed out: loop to re-check the deadline (the poll timeout is capped)
    }
}

// Logs server notices and warnings (including the FATAL a terminated backend sends while idle) as structured lines
// instead of libpq's default print to stderr.
void notice_receiver(void *arg, const PGresult *res) {
    const char *role = static_cast<const char *>(arg);
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string sev = severity != nullptr ? severity : "NOTICE";
    LogLevel level =
        (sev == "WARNING" || sev == "ERROR" || sev == "FATAL" || sev == "PANIC") ? LogLevel::Warn : LogLevel::Debug;
    if (!log_enabled(level)) return;
    std::string message = primary != nullptr ? primary : clean_message(PQresultErrorMessage(res));
    log_event(
        level, "db_notice",
        {{"role", role}, {"severity", sev}, {"sqlstate", sqlstate != nullptr ? sqlstate : ""}, {"message", message}});
}

// True when the (idle) connection still looks alive: reads whatever the server sent (a FATAL before it closed the
// socket, then EOF) without blocking.
bool connection_alive(PGconn *conn, bool keep_notifies) {
    if (PQstatus(conn) != CONNECTION_OK) return false;
    int fd = PQsocket(conn);
    if (fd < 0) return false;
    for (int round = 0; round < 16; ++round) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (PQconsumeInput(conn) == 0) return false;
        while (!keep_notifies) { // pool connections do not LISTEN: discard
            PGnotify *note = PQnotifies(conn);
            if (note == nullptr) break;
            PQfreemem(note);
        }
        if (PQstatus(conn) != CONNECTION_OK) return false;
    }
    return PQstatus(conn) == CONNECTION_OK;
}

enum class ExecStatus {
    Done,    // a result (success or an SQL error) and the connection is fine
    NotSent, // the connection was found dead before the statement was sent: it did not run; retry elsewhere
    Lost,    // the connection broke after the statement was sent: it may or may not have run
    Stopped, // stop() interrupted the statement: it may or may not have run
};

DbResult from_result(const PGresult *res) {
    DbResult out;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        out.ok = true;
        int ncols = PQnfields(res), nrows = PQntuples(res);
        out.columns.reserve(static_cast<std::size_t>(ncols));
        for (int c = 0; c < ncols; ++c)
            out.columns.emplace_back(PQfname(res, c));
        out.rows.reserve(static_cast<std::size_t>(nrows));
        for (int r = 0; r < nrows; ++r) {
            auto &row = out.rows.emplace_back();
            row.reserve(static_cast<std::size_t>(ncols));
            for (int c = 0; c < ncols; ++c) {
                if (PQgetisnull(res, r, c)) {
                    row.emplace_back(std::nullopt);
                } else {
                    row.emplace_back(
                        std::string(PQgetvalue(res, r, c), static_cast<std::size_t>(PQgetlength(res, r, c))));
                }
            }
        }
        return out;
    }
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    out.ok = false;
    out.sqlstate = sqlstate != nullptr ? sqlstate : "";
    if (primary != nullptr) {
        out.message = primary;
    } else {
        out.message = clean_message(PQresultErrorMessage(res));
        if (out.message.empty()) {
            out.message = std::string("unexpected result status ") + PQresStatus(st) + " (the bridge sends one " +
                          "statement per query; COPY is not supported)";
        }
    }
    if (detail != nullptr) out.detail = detail;
    if (hint != nullptr) out.hint = hint;
    return out;
}

DbResult lost_result(const PGresult *error_result, PGconn *conn, bool stopped) {
    std::string why;
    std::string sqlstate = "08006";
    if (error_result != nullptr) {
        if (const char *s = PQresultErrorField(error_result, PG_DIAG_SQLSTATE)) sqlstate = s;
        why = clean_message(PQresultErrorMessage(error_result));
    }
    if (why.empty()) why = clean_message(PQerrorMessage(conn));
    std::string message = stopped ? "the bridge stopped while the statement ran, so it may or may not have taken effect"
                                  : "the connection to PostgreSQL was lost while the statement ran, so it may or may "
                                    "not have taken effect";
    if (!why.empty()) message += ": " + why;
    return failure(sqlstate, message, true);
}

// Runs one statement on a non-blocking connection: extended protocol, text parameters, text results. Notifications
// that arrive meanwhile are discarded unless keep_notifies (the listener collects them afterwards with PQnotifies).
ExecStatus execute(PGconn *conn, const std::string &sql, const DbParams &params, int stop_fd, DbResult &out,
                   bool keep_notifies = false) {
    if (!connection_alive(conn, keep_notifies)) return ExecStatus::NotSent;
    if (params.size() > kMaxParams) {
        out = failure("54023", "too many query parameters: " + std::to_string(params.size()) +
                                   " (PostgreSQL accepts at most 65535); split the statement");
        return ExecStatus::Done;
    }
    std::vector<const char *> values;
    values.reserve(params.size());
    for (const auto &p : params)
        values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr, nullptr,
                          0) == 0) {
        // Without the closing Sync message the server runs nothing, so a failure here means "not run".
        if (PQstatus(conn) != CONNECTION_OK) return ExecStatus::NotSent;
        out = failure("08000", "could not send the statement to PostgreSQL: " + clean_message(PQerrorMessage(conn)));
        return ExecStatus::Done;
    }
    // Flush what libpq buffered, reading meanwhile (the server may block sending us data).
    for (;;) {
        int f = PQflush(conn);
        if (f == 0) break;
        if (f < 0) {
            out = lost_result(nullptr, conn, false);
            return ExecStatus::Lost;
        }
        WaitOutcome w = wait_fd(PQsocket(conn), POLLIN | POLLOUT, stop_fd);
        if (w == WaitOutcome::Stopped) {
            out = lost_result(nullptr, conn, true);
            return ExecStatus::Stopped;
        }
        if (w != WaitOutcome::Ready || PQconsumeInput(conn) == 0) {
            out = lost_result(nullptr, conn, false);
            return ExecStatus::Lost;
        }
    }
    ResultPtr first_error, last;
    for (;;) {
        while (PQisBusy(conn)) {
            WaitOutcome w = wait_fd(PQsocket(conn), POLLIN, stop_fd);
            if (w == WaitOutcome::Stopped) {
                out = lost_result(first_error.get(), conn, true);
                return ExecStatus::Stopped;
            }
            if (w != WaitOutcome::Ready || PQconsumeInput(conn) == 0) {
                out = lost_result(first_error.get(), conn, false);
                return ExecStatus::Lost;
            }
        }
        ResultPtr r(PQgetResult(conn));
        if (!r) break;
        ExecStatusType st = PQresultStatus(r.get());
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !first_error) {
            first_error = std::move(r);
        } else {
            last = std::move(r);
        }
    }
    while (!keep_notifies) {
        PGnotify *note = PQnotifies(conn);
        if (note == nullptr) break;
        PQfreemem(note);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        // No ReadyForQuery: even a statement that returned rows may not have committed.
        out = lost_result(first_error.get(), conn, false);
        return ExecStatus::Lost;
    }
    if (first_error) {
        out = from_result(first_error.get());
        if (out.sqlstate.empty()) out.sqlstate = "XX000";
    } else if (last) {
        out = from_result(last.get());
    } else {
        out = failure("XX000", "PostgreSQL returned no result for the statement");
    }
    return ExecStatus::Done;
}

struct Job {
    std::string sql;
    DbParams params;
    DbCallback callback;
    int affinity = -1; // the pool connection that should run it (when up), or -1 for any
};

struct Completion {
    DbCallback callback;
    DbResult result;
};

struct Event {
    enum class Kind { Notification, FeedDown, FeedUp };
    Kind kind;
    std::string channel;
    std::string payload;
};

} // namespace

struct Database::Impl {
    DbConfig config;
    std::function<void()> wake;
    int stop_fd = -1; // eventfd, written once when the threads must stop now

    std::function<void(const std::string &, const std::string &)> notification_handler; // loop thread only
    std::function<void(bool)> feed_handler;                                             // loop thread only

    mutable std::mutex mu;
    std::condition_variable job_cv;      // workers waiting for a job (connected and idle)
    std::condition_variable backoff_cv;  // workers and the watchdog sleeping; woken only to exit
    std::condition_variable watchdog_cv; // pool state changes
    std::condition_variable done_cv;     // a job finished (stop() waits for the queue to empty)
    std::deque<Job> jobs;
    std::deque<Completion> completions;
    std::deque<Event> events;
    std::size_t queued_notifications = 0;
    std::size_t in_flight = 0; // queued + executing + completed but not drained
    std::size_t executing = 0;
    int pool_up = 0;
    std::vector<char> worker_up; // per pool connection: connected and serving jobs
    Clock::time_point down_since = Clock::now();
    bool unavailable = false; // the pool has been down longer than unavailable_after_ms
    bool started = false;
    bool accepting = true;
    bool exiting = false;
    bool stopped = false;

    std::atomic<int> pool_up_atomic{0};
    std::atomic<bool> feed_up{false};

    std::vector<std::thread> threads;

    Impl(DbConfig c, std::function<void()> w) : config(std::move(c)), wake(std::move(w)) {
        if (config.pool_size < 1) throw std::invalid_argument("database pool size must be at least 1");
        worker_up.assign(static_cast<std::size_t>(config.pool_size), 0);
        if (config.backoff_min_ms < 1 || config.backoff_max_ms < config.backoff_min_ms) {
            throw std::invalid_argument("database reconnect backoff must satisfy 1 <= min <= max (milliseconds)");
        }
        if (config.connect_timeout_ms < 1 || config.unavailable_after_ms < 0) {
            throw std::invalid_argument("database connect_timeout_ms must be positive and unavailable_after_ms not "
                                        "negative");
        }
        if (!PQisthreadsafe()) throw std::runtime_error("this libpq was built without thread safety");
        stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd for the database threads");
    }

    ~Impl() {
        if (stop_fd >= 0) ::close(stop_fd);
    }

    void notify_wake() {
        if (wake) wake();
    }

    // Caller holds mu.
    void complete_locked(DbCallback &&callback, DbResult &&result) {
        completions.push_back(Completion{std::move(callback), std::move(result)});
    }

    // Caller holds mu. Fails every queued job (they did not run).
    void fail_queued_locked(const std::string &sqlstate, const std::string &message) {
        while (!jobs.empty()) {
            complete_locked(std::move(jobs.front().callback), failure(sqlstate, message));
            jobs.pop_front();
        }
        done_cv.notify_all();
    }

    // Caller holds mu. Coalesces repeated down/up pairs so that an undrained queue cannot grow with reconnects.
    void push_feed_locked(bool up) {
        if (!up && events.size() >= 2 && events.back().kind == Event::Kind::FeedUp &&
            events[events.size() - 2].kind == Event::Kind::FeedDown) {
            events.pop_back(); // ..., down, up + down  ==  ..., down
            return;
        }
        events.push_back(Event{up ? Event::Kind::FeedUp : Event::Kind::FeedDown, {}, {}});
    }

    std::chrono::milliseconds backoff(int failures, std::mt19937 &rng) const {
        long long cap = config.backoff_min_ms;
        for (int i = 0; i < failures && cap < config.backoff_max_ms; ++i)
            cap *= 2;
        cap = std::min<long long>(cap, config.backoff_max_ms);
        std::uniform_int_distribution<long long> dist(std::max<long long>(1, cap / 2), cap);
        return milliseconds(dist(rng));
    }

    // Sleeps for delay unless the threads are told to exit. Returns false when they are.
    bool sleep_unless_exiting(milliseconds delay) {
        std::unique_lock<std::mutex> lock(mu);
        return !backoff_cv.wait_for(lock, delay, [this] { return exiting; });
    }

    bool is_exiting() const {
        std::lock_guard<std::mutex> lock(mu);
        return exiting;
    }

    // One asynchronous connection attempt (interruptible by stop), then the session setup.
    ConnPtr connect(const char *role, std::string &error) {
        std::string keepalives_idle = "10", keepalives_interval = "5", keepalives_count = "3";
        // Keywords before dbname are defaults that the conninfo string may override.
        const char *keywords[] = {
            "application_name", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
            "dbname",           nullptr};
        const char *values[] = {config.application_name.c_str(),
                                "1",
                                keepalives_idle.c_str(),
                                keepalives_interval.c_str(),
                                keepalives_count.c_str(),
                                config.conninfo.c_str(),
                                nullptr};
        ConnPtr conn(PQconnectStartParams(keywords, values, 1));
        if (!conn) {
            error = "out of memory while starting a connection";
            return nullptr;
        }
        if (PQstatus(conn.get()) == CONNECTION_BAD) {
            error = clean_message(PQerrorMessage(conn.get()));
            return nullptr;
        }
        auto deadline = Clock::now() + milliseconds(config.connect_timeout_ms);
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        while (st != PGRES_POLLING_OK) {
            if (st == PGRES_POLLING_FAILED) {
                error = clean_message(PQerrorMessage(conn.get()));
                return nullptr;
            }
            WaitOutcome w =
                wait_fd(PQsocket(conn.get()), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, stop_fd, deadline);
            if (w == WaitOutcome::Stopped) {
                error = "stopping";
                return nullptr;
            }
            if (w == WaitOutcome::TimedOut) {
                error = "no connection within " + std::to_string(config.connect_timeout_ms) + " ms";
                return nullptr;
            }
            if (w == WaitOutcome::Failed) {
                error = std::string("waiting for the connection failed: ") + std::strerror(errno);
                return nullptr;
            }
            st = PQconnectPoll(conn.get());
        }
        PQsetNoticeReceiver(conn.get(), notice_receiver, const_cast<char *>(role));
        if (PQsetnonblocking(conn.get(), 1) != 0) {
            error = "could not make the connection non-blocking: " + clean_message(PQerrorMessage(conn.get()));
            return nullptr;
        }
        DbResult r;
        ExecStatus s = execute(conn.get(), "SELECT pg_catalog.set_config('search_path', '', false)", {}, stop_fd, r);
        if (s != ExecStatus::Done || !r.ok) {
            error = "setting an empty search_path failed: " + (r.message.empty() ? "connection lost" : r.message);
            return nullptr;
        }
        return conn;
    }

    void set_pool_up(int index, bool up) {
        std::lock_guard<std::mutex> lock(mu);
        worker_up[static_cast<std::size_t>(index)] = up ? 1 : 0;
        // Jobs meant for this connection go to any other while it is down, and come back to it once it is up.
        if (!jobs.empty()) job_cv.notify_all();
        if (up) {
            if (pool_up++ == 0) {
                unavailable = false;
                watchdog_cv.notify_all();
            }
        } else if (--pool_up == 0) {
            down_since = Clock::now();
            watchdog_cv.notify_all();
        }
        pool_up_atomic.store(pool_up, std::memory_order_relaxed);
    }

    void worker_main(int index) {
        std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(index));
        int failures = 0;
        bool first_attempt = true;
        for (;;) {
            if (!first_attempt && !sleep_unless_exiting(backoff(failures, rng))) return;
            first_attempt = false;
            if (is_exiting()) return;
            std::string error;
            ConnPtr conn = connect("pool", error);
            if (!conn) {
                if (is_exiting()) return;
                ++failures;
                log_event(connect_failure_level(failures), "db_connect_failed",
                          {{"role", "pool"},
                           {"worker", std::int64_t{index}},
                           {"attempt", std::int64_t{failures}},
                           {"error", error}});
                continue;
            }
            failures = 0;
            log_event(
                LogLevel::Info, "db_connected",
                {{"role", "pool"}, {"worker", std::int64_t{index}}, {"pid", std::int64_t{PQbackendPID(conn.get())}}});
            set_pool_up(index, true);
            std::string why = serve_jobs(conn.get(), index);
            set_pool_up(index, false);
            if (why.empty()) return; // exiting
            log_event(LogLevel::Warn, "db_connection_lost",
                      {{"role", "pool"}, {"worker", std::int64_t{index}}, {"error", why}});
        }
    }

    // Runs jobs on conn until it breaks (returns why) or the threads exit (returns "").
    // Caller holds mu. The oldest job this pool connection may run: one without affinity, one for this connection,
    // or one for a connection that is down.
    std::deque<Job>::iterator next_job_locked(int index) {
        return std::find_if(jobs.begin(), jobs.end(), [&](const Job &j) {
            return j.affinity < 0 || j.affinity == index || !worker_up[static_cast<std::size_t>(j.affinity)];
        });
    }

    std::string serve_jobs(PGconn *conn, int index) {
        for (;;) {
            Job job;
            {
                std::unique_lock<std::mutex> lock(mu);
                job_cv.wait_for(lock, kIdleCheckInterval,
                                [&] { return exiting || next_job_locked(index) != jobs.end(); });
                if (exiting) return "";
                auto it = next_job_locked(index);
                if (it == jobs.end()) {
                    lock.unlock();
                    if (!connection_alive(conn, false)) return "connection closed while idle: " + describe(conn);
                    continue;
                }
                job = std::move(*it);
                jobs.erase(it);
                ++executing;
            }
            DbResult result;
            ExecStatus st = execute(conn, job.sql, job.params, stop_fd, result);
            {
                std::lock_guard<std::mutex> lock(mu);
                --executing;
                if (st == ExecStatus::NotSent) {
                    // stop() may have set exiting (and failed the queue) while the lock was released.
                    // cppcheck-suppress knownConditionTrueFalse
                    if (exiting) {
                        complete_locked(std::move(job.callback),
                                        failure("08006", "the bridge is stopping; the statement was not run"));
                    } else {
                        jobs.push_front(std::move(job)); // not run: the next live connection takes it
                        job_cv.notify_all();
                    }
                } else {
                    complete_locked(std::move(job.callback), std::move(result));
                }
                done_cv.notify_all();
            }
            if (st != ExecStatus::NotSent) notify_wake();
            switch (st) {
            case ExecStatus::Done:
                break;
            case ExecStatus::NotSent:
                return "connection found closed before sending a statement: " + describe(conn);
            case ExecStatus::Lost:
                return "connection lost during a statement: " + describe(conn);
            case ExecStatus::Stopped:
                return "";
            }
        }
    }

    static std::string describe(PGconn *conn) {
        std::string m = clean_message(PQerrorMessage(conn));
        return m.empty() ? "no message from libpq" : m;
    }

    bool listen_all(PGconn *conn, std::string &error) {
        for (const std::string &channel : config.listen_channels) {
            char *ident = PQescapeIdentifier(conn, channel.data(), channel.size());
            if (ident == nullptr) {
                error = "cannot quote channel name: " + clean_message(PQerrorMessage(conn));
                return false;
            }
            std::string sql = std::string("LISTEN ") + ident;
            PQfreemem(ident);
            DbResult r;
            ExecStatus st = execute(conn, sql, {}, stop_fd, r, true);
            if (st != ExecStatus::Done || !r.ok) {
                error =
                    "LISTEN on channel '" + channel + "' failed: " + (r.message.empty() ? describe(conn) : r.message);
                return false;
            }
        }
        return true;
    }

    void set_feed(bool up) {
        {
            std::lock_guard<std::mutex> lock(mu);
            feed_up.store(up, std::memory_order_relaxed);
            push_feed_locked(up);
        }
        notify_wake();
    }

    void listener_main() {
        std::mt19937 rng(std::random_device{}());
        int failures = 0;
        bool first_attempt = true;
        for (;;) {
            if (!first_attempt && !sleep_unless_exiting(backoff(failures, rng))) return;
            first_attempt = false;
            if (is_exiting()) return;
            std::string error;
            ConnPtr conn = connect("listen", error);
            if (conn && !listen_all(conn.get(), error)) conn.reset();
            if (!conn) {
                if (is_exiting()) return;
                ++failures;
                log_event(connect_failure_level(failures), "db_connect_failed",
                          {{"role", "listen"}, {"attempt", std::int64_t{failures}}, {"error", error}});
                continue;
            }
            failures = 0;
            log_event(LogLevel::Info, "db_feed_up", {{"pid", std::int64_t{PQbackendPID(conn.get())}}});
            set_feed(true);
            std::string why = receive(conn.get());
            if (why.empty()) {
                feed_up.store(false, std::memory_order_relaxed);
                return; // exiting
            }
            log_event(LogLevel::Warn, "db_feed_lost", {{"error", why}});
            set_feed(false);
        }
    }

    // Queues notifications from conn until it breaks (returns why) or the threads exit (returns "").
    std::string receive(PGconn *conn) {
        for (bool first = true;; first = false) {
            bool ok = true;
            if (!first) { // first: what libpq buffered while the LISTENs ran
                int fd = PQsocket(conn);
                if (fd < 0) return "the connection has no socket: " + describe(conn);
                WaitOutcome w = wait_fd(fd, POLLIN, stop_fd);
                if (w == WaitOutcome::Stopped) return "";
                if (w != WaitOutcome::Ready) {
                    return std::string("waiting on the socket failed: ") + std::strerror(errno);
                }
                ok = PQconsumeInput(conn) != 0;
            }
            bool got = false, overflowed = false;
            {
                std::lock_guard<std::mutex> lock(mu);
                while (PGnotify *n = PQnotifies(conn)) {
                    events.push_back(Event{Event::Kind::Notification, n->relname, n->extra});
                    PQfreemem(n);
                    got = true;
                    if (++queued_notifications > config.max_queued_notifications) {
                        // Nobody drains fast enough: drop them and have the bridge resync instead.
                        std::erase_if(events, [](const Event &e) { return e.kind == Event::Kind::Notification; });
                        queued_notifications = 0;
                        push_feed_locked(false);
                        push_feed_locked(true);
                        overflowed = true;
                    }
                }
            }
            if (overflowed) {
                log_event(LogLevel::Warn, "db_notifications_dropped",
                          {{"reason", "more undrained notifications than max_queued_notifications; reported as a "
                                      "feed loss so that subscribers resync"},
                           {"max_queued_notifications", static_cast<std::int64_t>(config.max_queued_notifications)}});
            }
            if (got) notify_wake();
            if (!ok || PQstatus(conn) != CONNECTION_OK) return describe(conn);
        }
    }

    void watchdog_main() {
        std::unique_lock<std::mutex> lock(mu);
        const milliseconds limit(config.unavailable_after_ms);
        while (!exiting) {
            if (pool_up > 0 || unavailable) {
                bool was_unavailable = unavailable;
                watchdog_cv.wait(lock, [&] { return exiting || (was_unavailable ? pool_up > 0 : pool_up == 0); });
                continue;
            }
            auto deadline = down_since + limit;
            // Other threads change exiting and pool_up while the wait releases the lock.
            // cppcheck-suppress knownConditionTrueFalse
            if (watchdog_cv.wait_until(lock, deadline, [&] { return exiting || pool_up > 0; })) continue;
            if (Clock::now() < down_since + limit) continue; // down_since moved (the pool came and went)
            unavailable = true;
            bool had_jobs = !jobs.empty();
            std::size_t failed = jobs.size();
            fail_queued_locked("08006", "database unavailable: no connection to PostgreSQL for more than " +
                                            std::to_string(config.unavailable_after_ms) +
                                            " ms; the statement was not run. Retry later.");
            lock.unlock();
            log_event(LogLevel::Error, "db_unavailable",
                      {{"down_ms", std::int64_t{config.unavailable_after_ms}},
                       {"failed_queries", static_cast<std::int64_t>(failed)}});
            if (had_jobs) notify_wake();
            lock.lock();
        }
    }
};

Database::Database(DbConfig config, std::function<void()> wake)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(wake))) {}

Database::~Database() {
    if (impl_) stop(0);
}

void Database::on_notification(std::function<void(const std::string &channel, const std::string &payload)> handler) {
    impl_->notification_handler = std::move(handler);
}

void Database::on_feed_state(std::function<void(bool up)> handler) { impl_->feed_handler = std::move(handler); }

void Database::start() {
    Impl &d = *impl_;
    {
        std::lock_guard<std::mutex> lock(d.mu);
        if (d.started) throw std::logic_error("Database::start() called twice");
        if (d.stopped) throw std::logic_error("Database::start() called after stop()");
        d.started = true;
        d.down_since = Clock::now();
    }
    try {
        d.threads.reserve(static_cast<std::size_t>(d.config.pool_size) + 2);
        for (int i = 0; i < d.config.pool_size; ++i)
            d.threads.emplace_back([&d, i] { d.worker_main(i); });
        d.threads.emplace_back([&d] { d.listener_main(); });
        d.threads.emplace_back([&d] { d.watchdog_main(); });
    } catch (...) {
        stop(0);
        throw;
    }
}

void Database::query(std::string sql, DbParams params, DbCallback callback, int affinity) {
    Impl &d = *impl_;
    bool failed_now = false;
    {
        std::lock_guard<std::mutex> lock(d.mu);
        ++d.in_flight;
        if (!d.accepting) {
            d.complete_locked(std::move(callback),
                              failure("08006", "the database layer is stopped (the bridge is shutting down); the "
                                               "statement was not run"));
            failed_now = true;
        } else if (d.unavailable) {
            d.complete_locked(std::move(callback),
                              failure("08006", "database unavailable: no connection to PostgreSQL for more than " +
                                                   std::to_string(d.config.unavailable_after_ms) +
                                                   " ms; the statement was not run. Retry later."));
            failed_now = true;
        } else {
            int a = affinity < 0 ? -1 : affinity % d.config.pool_size;
            d.jobs.push_back(Job{std::move(sql), std::move(params), std::move(callback), a});
            if (a < 0) {
                d.job_cv.notify_one();
            } else {
                d.job_cv.notify_all(); // the one idle worker that notify_one would wake may not be the right one
            }
        }
    }
    if (failed_now) d.notify_wake();
}

void Database::drain() {
    Impl &d = *impl_;
    std::deque<Completion> done;
    std::deque<Event> events;
    {
        std::lock_guard<std::mutex> lock(d.mu);
        done.swap(d.completions);
        events.swap(d.events);
        d.queued_notifications = 0;
        d.in_flight -= done.size();
    }
    // A throwing callback must not cost the others their answers.
    auto guarded = [](const char *what, auto &&fn) {
        try {
            fn();
        } catch (const std::exception &e) {
            log_event(LogLevel::Error, "db_callback_failed", {{"callback", what}, {"error", e.what()}});
        } catch (...) {
            log_event(LogLevel::Error, "db_callback_failed", {{"callback", what}, {"error", "unknown exception"}});
        }
    };
    for (Completion &c : done) {
        if (c.callback) guarded("query", [&] { c.callback(std::move(c.result)); });
    }
    for (Event &e : events) {
        if (e.kind == Event::Kind::Notification) {
            if (d.notification_handler) guarded("notification", [&] { d.notification_handler(e.channel, e.payload); });
        } else if (d.feed_handler) {
            bool up = e.kind == Event::Kind::FeedUp;
            guarded("feed_state", [&] { d.feed_handler(up); });
        }
    }
}

bool Database::pool_ready() const { return impl_->pool_up_atomic.load(std::memory_order_relaxed) > 0; }

bool Database::feed_ready() const { return impl_->feed_up.load(std::memory_order_relaxed); }

std::size_t Database::queued() const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->jobs.size();
}

std::size_t Database::in_flight() const {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->in_flight;
}

void Database::stop(int timeout_ms) {
    Impl &d = *impl_;
    {
        std::unique_lock<std::mutex> lock(d.mu);
        if (d.stopped) return;
        d.accepting = false;
        if (d.started) {
            auto deadline = Clock::now() + milliseconds(std::max(0, timeout_ms));
            d.done_cv.wait_until(lock, deadline, [&d] { return d.jobs.empty() && d.executing == 0; });
        }
        d.exiting = true;
        d.fail_queued_locked("08006", "the bridge is stopping; the statement was not run");
    }
    std::uint64_t one = 1;
    if (::write(d.stop_fd, &one, sizeof one) != sizeof one) {
        log_event(LogLevel::Error, "db_stop_signal_failed", {{"error", std::strerror(errno)}});
    }
    d.job_cv.notify_all();
    d.backoff_cv.notify_all();
    d.watchdog_cv.notify_all();
    for (std::thread &t : d.threads) {
        if (t.joinable()) t.join();
    }
    d.threads.clear();
    {
        std::lock_guard<std::mutex> lock(d.mu);
        d.stopped = true;
        d.pool_up = 0;
        d.pool_up_atomic.store(0, std::memory_order_relaxed);
    }
    d.feed_up.store(false, std::memory_order_relaxed);
    d.notify_wake();
}

} // namespace collab::bridge
