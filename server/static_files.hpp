// collab-bridge: the static files of the web editor (--web-root), served on GET. No libwebsockets here, so that the
// path rules are unit-tested on their own (tests/bridge/static_files_test.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace collab::bridge {

struct StaticFile {
    std::string content_type;
    std::string cache_control;
    std::string body;
};

class StaticFiles {
  public:
    // root: a directory; empty serves nothing.
    explicit StaticFiles(std::string root) : root_(std::move(root)) {}
    bool enabled() const { return !root_.empty(); }

    // The file for a request path ("/" is /index.html), or nullopt when there is none or the path is not a plain
    // relative one (no "..", no hidden files, no backslashes or NULs).
    std::optional<StaticFile> get(std::string_view path) const;

    // Content-Type by file extension (text types in UTF-8); application/octet-stream when unknown.
    static std::string content_type(std::string_view name);
    // Names with a content hash (name-HASH.ext, HASH at least 8 letters and digits, as esbuild writes them) never
    // change: they are cached for a year. Everything else is revalidated (no-cache).
    static bool is_hashed(std::string_view name);

  private:
    std::string root_;
};

} // namespace collab::bridge
