// collab-bridge: structured logs (see log.hpp). One JSON object per line on stderr, written with one write(2) under a
// mutex so that lines from different threads never interleave.

#include "log.hpp"

#include <jansson.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

namespace collab::bridge {

namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::mutex g_write_mutex;

struct JsonDeleter {
    void operator()(json_t *j) const noexcept { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

const char *level_name(LogLevel level) {
    switch (level) {
    case LogLevel::Debug:
        return "debug";
    case LogLevel::Info:
        return "info";
    case LogLevel::Warn:
        return "warn";
    case LogLevel::Error:
        return "error";
    }
    return "error";
}

// "2026-11-29T09:30:00.123Z"
std::string utc_timestamp() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    tm parts{};
    gmtime_r(&now.tv_sec, &parts);
    char buf[40];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(now.tv_nsec / 1000000));
    return buf;
}

// Replaces every byte sequence that is not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF) with U+FFFD, so that a log field taken from outside (a libpq message, a peer address) can always be
// logged. jansson refuses invalid UTF-8 rather than repairing it.
std::string sanitize_utf8(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        auto c = static_cast<unsigned char>(in[i]);
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
        if (c < 0x80) {
            len = 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        }
        bool valid = len > 0 && i + len <= in.size();
        for (std::size_t k = 1; valid && k < len; ++k) {
            auto b = static_cast<unsigned char>(in[i + k]);
            unsigned min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
            valid = b >= min && b <= max;
        }
        if (valid) {
            out.append(in.substr(i, len));
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");
            ++i;
        }
    }
    return out;
}

json_t *string_value(std::string_view s) {
    if (json_t *j = json_stringn(s.data(), s.size())) return j;
    std::string clean = sanitize_utf8(s);
    return json_stringn(clean.data(), clean.size());
}

json_t *field_value(const LogValue &value) {
    if (const auto *s = std::get_if<std::string_view>(&value)) return string_value(*s);
    if (const auto *i = std::get_if<std::int64_t>(&value)) return json_integer(*i);
    if (const auto *d = std::get_if<double>(&value)) return std::isfinite(*d) ? json_real(*d) : json_null();
    return json_boolean(std::get<bool>(value));
}

void write_line(const char *data, std::size_t size) {
    std::lock_guard<std::mutex> lock(g_write_mutex);
    while (size > 0) {
        ssize_t n = ::write(STDERR_FILENO, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; // stderr is gone: nothing sensible left to do with a log line
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

} // namespace

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool parse_log_level(std::string_view name, LogLevel &out) {
    static constexpr LogLevel kLevels[] = {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error};
    for (LogLevel level : kLevels) {
        if (name == level_name(level)) {
            out = level;
            return true;
        }
    }
    return false;
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
    if (!log_enabled(level)) return;
    std::string ts = utc_timestamp();
    JsonPtr line(json_pack("{s:s, s:s}", "ts", ts.c_str(), "level", level_name(level)));
    bool built = line != nullptr && json_object_set_new(line.get(), "event", string_value(event)) == 0;
    for (const LogField &field : fields) {
        if (!built) break;
        std::string key = sanitize_utf8(field.key);
        built = json_object_set_new(line.get(), key.c_str(), field_value(field.value)) == 0;
    }
    char *text = built ? json_dumps(line.get(), JSON_COMPACT | JSON_PRESERVE_ORDER) : nullptr;
    if (text == nullptr) {
        std::string fallback = "{\"ts\":\"" + ts + "\",\"level\":\"error\",\"event\":\"log_failed\"," +
                               "\"error\":\"out of memory while formatting a log line\"}\n";
        write_line(fallback.data(), fallback.size());
        return;
    }
    std::string out(text);
    std::free(text);
    out.push_back('\n');
    write_line(out.data(), out.size());
}

} // namespace collab::bridge
