// collab-bridge: structured logs, one JSON object per line on stderr:
//   {"ts":"2026-11-29T09:30:00.123Z","level":"info","event":"listening","host":"127.0.0.1","port":8080}
// Never log tokens or message bodies.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace collab::bridge {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// A field value: string, integer, floating point or boolean.
using LogValue = std::variant<std::string_view, std::int64_t, double, bool>;
struct LogField {
    std::string_view key;
    LogValue value;
};

void set_log_level(LogLevel level);
bool parse_log_level(std::string_view name, LogLevel &out);
bool log_enabled(LogLevel level);
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

} // namespace collab::bridge
