// collab-bridge: runs the WebSocket/HTTP server until SIGTERM or SIGINT has drained it. Returns the exit status.
#pragma once

#include "config.hpp"

namespace collab::bridge {

int run_server(Config config);

} // namespace collab::bridge
