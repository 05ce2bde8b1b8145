// collab-bridge: a stateless WebSocket server that speaks the ShareDB protocol to browsers and relays between them
// and PostgreSQL with the pg_collab extension. See docs/bridge.md and `collab-bridge --help`.
#include <exception>

#include "config.hpp"
#include "log.hpp"
#include "server.hpp"

int main(int argc, char **argv) {
    using namespace collab::bridge;
    try {
        Config config = parse_config(argc, argv);
        LogLevel level = LogLevel::Info;
        parse_log_level(config.log_level, level);
        set_log_level(level);
        return run_server(std::move(config));
    } catch (const std::exception &e) {
        log_event(LogLevel::Error, "fatal", {{"message", e.what()}});
        return 1;
    }
}
