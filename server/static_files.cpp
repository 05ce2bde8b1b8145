#include "static_files.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace collab::bridge {

namespace {

bool safe_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return false;
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view part = path.substr(start, end - start);
        // Empty parts ("//") and dot-files (".", "..", ".git") are refused; so are characters no asset name has.
        if (part.empty() || part.front() == '.') return false;
        for (char c : part)
            if (c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
        start = end + 1;
    }
    return true;
}

} // namespace

std::string StaticFiles::content_type(std::string_view name) {
    static const std::pair<std::string_view, std::string_view> kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (const auto &[ext, type] : kTypes)
        if (name.size() > ext.size() && name.ends_with(ext)) return std::string(type);
    return "application/octet-stream";
}

bool StaticFiles::is_hashed(std::string_view name) {
    const std::size_t slash = name.rfind('/');
    if (slash != std::string_view::npos) name = name.substr(slash + 1);
    const std::size_t dot = name.find('.');
    const std::size_t dash = name.substr(0, dot).rfind('-');
    if (dot == std::string_view::npos || dash == std::string_view::npos) return false;
    const std::string_view hash = name.substr(dash + 1, dot - dash - 1);
    if (hash.size() < 8) return false;
    for (char c : hash)
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    return true;
}

std::optional<StaticFile> StaticFiles::get(std::string_view path) const {
    if (!enabled()) return std::nullopt;
    std::string rel(path == "/" ? std::string_view("/index.html") : path);
    if (!safe_path(rel)) return std::nullopt;
    const std::string full = root_ + rel;
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    std::ifstream in(full, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream body;
    body << in.rdbuf();
    StaticFile f;
    f.content_type = content_type(rel);
    f.cache_control = is_hashed(rel) ? "public, max-age=31536000, immutable" : "no-cache";
    f.body = std::move(body).str();
    return f;
}

} // namespace collab::bridge
