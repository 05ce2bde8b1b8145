#include "rope.hpp"

#include <algorithm>
#include <cassert>

namespace collab::text {

namespace {

inline bool is_continuation(unsigned char b) noexcept { return (b & 0xC0) == 0x80; }

std::uint64_t count_cps(std::string_view s) noexcept {
    std::uint64_t n = 0;
    for (unsigned char b : s)
        n += !is_continuation(b);
    return n;
}

// Byte offset of code point cp in s (cp <= count_cps(s)).
std::size_t cp_to_byte(std::string_view s, std::uint64_t cp) noexcept {
    std::size_t i = 0;
    while (cp > 0 && i < s.size()) {
        ++i;
        while (i < s.size() && is_continuation(static_cast<unsigned char>(s[i])))
            ++i;
        --cp;
    }
    return i;
}

} // namespace

Rope::Rope(std::string_view utf8) : chunks_(make_chunks(utf8)) {
    for (const Chunk &c : chunks_) {
        cps_ += c.cps;
        bytes_ += c.s.size();
    }
}

std::vector<Rope::Chunk> Rope::make_chunks(std::string_view utf8) const {
    std::vector<Chunk> out;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::size_t end = std::min(utf8.size(), i + kTargetChunkBytes);
        while (end < utf8.size() && is_continuation(static_cast<unsigned char>(utf8[end])))
            ++end;
        Chunk c;
        c.s.assign(utf8.substr(i, end - i));
        c.s.reserve(kMaxChunkBytes);
        c.cps = count_cps(c.s);
        out.push_back(std::move(c));
        i = end;
    }
    return out;
}

std::size_t Rope::byte_offset(const Chunk &c, std::uint64_t cp) noexcept {
    if (c.ascii()) return static_cast<std::size_t>(cp);
    return cp_to_byte(c.s, cp);
}

Rope::Loc Rope::locate(std::uint64_t pos) const {
    if (chunks_.empty()) return {0, 0};
    Loc f = finger_;
    if (f.chunk >= chunks_.size()) f = {0, 0};
    // Walk from the finger; real edits are local, so this is usually zero or one step.
    while (pos < f.start && f.chunk > 0) {
        --f.chunk;
        f.start -= chunks_[f.chunk].cps;
    }
    while (f.chunk + 1 < chunks_.size() && pos >= f.start + chunks_[f.chunk].cps) {
        f.start += chunks_[f.chunk].cps;
        ++f.chunk;
    }
    finger_ = f;
    return f;
}

void Rope::split_if_large(std::size_t idx) {
    if (chunks_[idx].s.size() <= kMaxChunkBytes) return;
    std::vector<Chunk> parts = make_chunks(chunks_[idx].s);
    chunks_[idx] = std::move(parts[0]);
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(idx) + 1, std::make_move_iterator(parts.begin() + 1),
                   std::make_move_iterator(parts.end()));
}

void Rope::insert(std::uint64_t pos, std::string_view utf8, std::uint64_t cps) {
    assert(pos <= cps_);
    if (utf8.empty()) return;
    if (chunks_.empty()) {
        chunks_ = make_chunks(utf8);
        finger_ = {0, 0};
    } else {
        Loc loc = locate(pos);
        Chunk &c = chunks_[loc.chunk];
        const std::size_t at = byte_offset(c, pos - loc.start);
        c.s.insert(at, utf8);
        c.cps += cps;
        split_if_large(loc.chunk); // chunks before loc.chunk are unchanged, so the finger stays valid
    }
    cps_ += cps;
    bytes_ += utf8.size();
}

void Rope::erase(std::uint64_t pos, std::uint64_t len) {
    assert(pos + len <= cps_);
    if (len == 0) return;
    Loc loc = locate(pos);
    std::size_t idx = loc.chunk;
    std::uint64_t off = pos - loc.start; // code point offset in chunks_[idx]
    std::uint64_t remaining = len;
    while (remaining > 0) {
        Chunk &c = chunks_[idx];
        const std::uint64_t take = std::min<std::uint64_t>(remaining, c.cps - off);
        const std::size_t b0 = byte_offset(c, off);
        const std::size_t b1 =
            c.ascii() ? b0 + static_cast<std::size_t>(take) : b0 + cp_to_byte(std::string_view(c.s).substr(b0), take);
        bytes_ -= b1 - b0;
        c.s.erase(b0, b1 - b0);
        c.cps -= take;
        cps_ -= take;
        remaining -= take;
        if (c.s.empty()) {
            chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(idx));
        } else {
            ++idx;
        }
        off = 0;
    }
    // Keep chunks from fragmenting: merge a small chunk at the edit point with its successor when they fit together.
    if (loc.chunk < chunks_.size() && loc.chunk + 1 < chunks_.size() &&
        chunks_[loc.chunk].s.size() + chunks_[loc.chunk + 1].s.size() <= kTargetChunkBytes) {
        chunks_[loc.chunk].s += chunks_[loc.chunk + 1].s;
        chunks_[loc.chunk].cps += chunks_[loc.chunk + 1].cps;
        chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(loc.chunk) + 1);
    }
    // The chunk at loc.chunk (if any) still starts at loc.start.
    finger_ = loc.chunk < chunks_.size() ? loc : Loc{0, 0};
}

std::string Rope::substr(std::uint64_t pos, std::uint64_t len) const {
    std::string out;
    if (len == 0 || chunks_.empty()) return out;
    Loc loc = locate(pos);
    std::size_t idx = loc.chunk;
    std::uint64_t off = pos - loc.start;
    while (len > 0 && idx < chunks_.size()) {
        const Chunk &c = chunks_[idx];
        const std::uint64_t take = std::min<std::uint64_t>(len, c.cps - off);
        const std::size_t b0 = byte_offset(c, off);
        const std::size_t b1 =
            c.ascii() ? b0 + static_cast<std::size_t>(take) : b0 + cp_to_byte(std::string_view(c.s).substr(b0), take);
        out.append(c.s, b0, b1 - b0);
        len -= take;
        off = 0;
        ++idx;
    }
    return out;
}

bool Rope::equals_at(std::uint64_t pos, std::string_view utf8, std::uint64_t cps) const {
    if (pos + cps > cps_) return false;
    return substr(pos, cps) == utf8;
}

std::string Rope::to_string() const {
    std::string out;
    out.reserve(static_cast<std::size_t>(bytes_));
    for (const Chunk &c : chunks_)
        out += c.s;
    return out;
}

} // namespace collab::text
