// pg_collab OT core: a chunked UTF-8 rope addressed by code point. No PostgreSQL headers.
//
// Text is kept in chunks of at most kMaxChunkBytes, each knowing its code point count. A finger remembers the last
// chunk visited, so the local edits of real typing find their chunk in O(1); all-ASCII chunks map code points to bytes
// without scanning. Edits move at most one chunk's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace collab::text {

class Rope {
  public:
    static constexpr std::size_t kMaxChunkBytes = 1024;
    static constexpr std::size_t kTargetChunkBytes = 512;

    Rope() = default;
    explicit Rope(std::string_view utf8); // text must be valid UTF-8 (validated by the caller)

    std::uint64_t length() const noexcept { return cps_; }      // code points
    std::uint64_t byte_size() const noexcept { return bytes_; } // UTF-8 bytes
    std::size_t chunk_count() const noexcept { return chunks_.size(); }

    // pos and len in code points; the caller checks bounds.
    void insert(std::uint64_t pos, std::string_view utf8, std::uint64_t cps);
    void erase(std::uint64_t pos, std::uint64_t len);
    std::string substr(std::uint64_t pos, std::uint64_t len) const;
    bool equals_at(std::uint64_t pos, std::string_view utf8, std::uint64_t cps) const;
    std::string to_string() const;

  private:
    struct Chunk {
        std::string s;
        std::uint64_t cps = 0;
        bool ascii() const noexcept { return cps == s.size(); }
    };
    struct Loc {
        std::size_t chunk;   // index into chunks_ (== chunks_.size() only when the rope is empty)
        std::uint64_t start; // code point at which that chunk starts
    };
    // Finds the chunk holding code point pos; for pos == length() the last chunk.
    Loc locate(std::uint64_t pos) const;
    static std::size_t byte_offset(const Chunk &c, std::uint64_t cp) noexcept;
    void split_if_large(std::size_t idx);
    std::vector<Chunk> make_chunks(std::string_view utf8) const;

    std::vector<Chunk> chunks_;
    std::uint64_t cps_ = 0;
    std::uint64_t bytes_ = 0;
    mutable Loc finger_{0, 0};
};

} // namespace collab::text
