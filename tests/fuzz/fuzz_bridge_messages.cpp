// libFuzzer target: collab-bridge's protocol engine (server/bridge.cpp) without sockets and without PostgreSQL.
//
// The Bridge is built as server.cpp builds it, over a fake Database (tests/fuzz/fake_db.cpp: the settings query is
// answered with a client-id secret and a few error codes, every other query fails with a SQLSTATE the input picks)
// and a fake Transport (timers run after each step, closes end the session). Two sessions are open (users
// "anonymous" and "bob" of org "acme"). The input is lines, each one step:
//   <frame>            a text frame from session 1 (JSON parse, action dispatch, the checks of c / d / v / src /
//                      seq / op / create / del, presence, bulk requests, ... up to the database call)
//   2:<frame>          a text frame from session 2
//   B                  a binary frame from session 1
//   N<k><payload>      a NOTIFY on channel k (0 collab, 1 collab_presence, 2 collab_auth): anyone can NOTIFY
//   E<k>               later queries fail with error k (SQLSTATEs below; odd k: connection lost)
//   C<1|2>             the socket of session 1 / 2 closes, and a new one opens with the same id
//   F<0|1>             the LISTEN connection goes down / up
//   H<c>/<d>, L<c>     GET /docs/<c>/<d>, GET /api/documents?collection=<c>
//   D                  SIGTERM: drain
// Checks: no crash, no sanitizer report, no exception out of the engine, and every message it writes is one JSON
// object.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridge.hpp"
#include "fake_db.hpp"
#include "json.hpp"
#include "log.hpp"

using namespace collab::bridge;

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
    std::fprintf(stderr, "fuzz_bridge_messages: %s\n%s\n", what, detail.c_str());
    std::abort();
}

struct FakeTransport : Transport {
    std::vector<std::function<void()>> timers;
    std::vector<SessionId> closed;
    void request_write(SessionId) override {}
    void close(SessionId id, int, const std::string &) override { closed.push_back(id); }
    void schedule(std::int64_t, std::function<void()> fn) override { timers.push_back(std::move(fn)); }
};

const char *const kStates[] = {"PC001", "PC002", "PC003", "42501", "08006",
                               "57P01", "40001", "XX000", "23505", "P0001"};

Identity identity_of(SessionId id) {
    Identity who;
    who.user = id == 1 ? "anonymous" : "bob";
    who.org = id == 1 ? "" : "acme";
    who.ip = "127.0.0.1";
    return who;
}

void check_out(const std::string &text) {
    json_error_t err;
    json_t *j = collab::json_load_any(text, err);
    if (j == nullptr || !json_is_object(j)) fail("the bridge wrote something else than one JSON object", text);
    json_decref(j);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    if (std::getenv("FUZZ_BRIDGE_LOG") == nullptr) set_log_level(static_cast<LogLevel>(99)); // quiet
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    Config config;
    config.max_queue_messages = 64; // reach the slow-consumer close
    config.max_subscriptions = 8;
    config.batch_max_ops = 4;
    Metrics metrics;
    Database db(config.db, [] {});
    FakeTransport transport;
    int error_kind = 0;
    {
        Bridge bridge(config, db, transport, metrics);
        bridge.on_auth_event([](const std::string &) {});
        bridge.on_reauthenticate([](SessionId id, const std::string &token, Identity &fresh) -> std::string {
            if (token != "good") return "bad token";
            fresh = identity_of(id);
            fresh.exp = 4102444800;
            return "";
        });
        auto answer = [&](const FakeQuery &q) {
            DbResult r;
            if (q.sql.find("bridge_client_id_secret") != std::string::npos) {
                r.ok = true;
                r.columns = {"a", "b"};
                r.rows = {{"secret", "fuzz-secret-0123456789abcdef"},
                          {"PC001", "ERR_OT_OP_BADLY_FORMED"},
                          {"PC002", "ERR_OT_OP_NOT_APPLIED"},
                          {"42501", "ERR_SNAPSHOT_READS_REJECTED"}};
                return r;
            }
            r.sqlstate = kStates[(error_kind / 2) % std::size(kStates)];
            r.message = "fuzz: query failed";
            r.detail = "detail";
            r.connection_lost = error_kind % 2 == 1;
            return r;
        };
        std::vector<std::string> http_out;
        auto settle = [&] {
            for (int round = 0; round < 8; round++) {
                fake_db_answer(db, answer);
                db.drain();
                std::vector<std::function<void()>> due;
                due.swap(transport.timers);
                for (auto &fn : due)
                    fn();
                std::vector<SessionId> closed;
                closed.swap(transport.closed);
                for (SessionId id : closed) {
                    while (auto m = bridge.next_outgoing(id))
                        check_out(*m);
                    bridge.close_session(id);
                    bridge.open_session(id, identity_of(id));
                }
                for (SessionId id : {SessionId{1}, SessionId{2}})
                    while (auto m = bridge.next_outgoing(id))
                        check_out(*m);
                if (transport.timers.empty() && transport.closed.empty() && db.queued() == 0 && db.in_flight() == 0)
                    break;
            }
        };
        bridge.open_session(1, identity_of(1));
        bridge.open_session(2, identity_of(2));
        bridge.start();
        settle();

        std::string_view in(reinterpret_cast<const char *>(data), size);
        int steps = 0;
        while (!in.empty() && steps++ < 64) {
            const std::size_t nl = in.find('\n');
            std::string_view line = in.substr(0, nl);
            in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
            try {
                if (line.size() >= 2 && line[0] == 'N' && line[1] >= '0' && line[1] <= '2') {
                    static const char *const kChannels[] = {"collab", "collab_presence", "collab_auth"};
                    bridge.on_notification(kChannels[line[1] - '0'], std::string(line.substr(2)));
                } else if (line.size() == 2 && line[0] == 'E') {
                    error_kind = static_cast<unsigned char>(line[1]) % 20;
                } else if (line.size() == 2 && line[0] == 'C' && (line[1] == '1' || line[1] == '2')) {
                    const SessionId id = line[1] == '1' ? 1 : 2;
                    bridge.close_session(id);
                    bridge.open_session(id, identity_of(id));
                } else if (line.size() == 2 && line[0] == 'F' && (line[1] == '0' || line[1] == '1')) {
                    bridge.on_feed_state(line[1] == '1');
                } else if (line == "B") {
                    bridge.on_binary_message(1);
                } else if (line == "D") {
                    bridge.begin_drain();
                    (void)bridge.drained();
                } else if (line.size() > 1 && line[0] == 'H') {
                    const std::string_view rest = line.substr(1);
                    const std::size_t slash = rest.find('/');
                    const std::string c(rest.substr(0, slash)),
                        d(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
                    bridge.http_snapshot(identity_of(1), c, d, [](int status, std::int64_t, std::string body) {
                        if (status == 200) check_out(body);
                    });
                } else if (line.size() > 1 && line[0] == 'L') {
                    bridge.http_list_documents(identity_of(2), std::string(line.substr(1)), [](int, std::string) {});
                } else if (line.size() >= 2 && line.substr(0, 2) == "2:") {
                    bridge.on_message(2, line.substr(2));
                } else {
                    bridge.on_message(1, line);
                }
                settle();
            } catch (const std::exception &e) {
                fail("an exception escaped the bridge", std::string(e.what()) + "\nstep: " + std::string(line));
            }
        }
        bridge.close_all(kCloseServiceRestart, "fuzz: done");
        settle();
        bridge.close_session(1);
        bridge.close_session(2);
        settle();
    }
    return 0;
}
