// pg_collab PostgreSQL glue: documents, the op-log, checkpoints, the per-backend document cache and the change feed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pg.hpp"

namespace collab::pg {

struct DocKey {
    std::string collection;
    std::string id;
};

struct SubmitResult {
    std::int64_t version; // the op's own version (the v of a ShareDB ack)
    std::string op_json;  // the op as committed (transformed), or the original op of a duplicate
};

struct SnapshotResult {
    std::int64_t version;
    std::optional<std::string> type_uri; // none: not created or deleted
    std::optional<std::string> data_json;
};

enum class DeleteMode {
    ShareDb, // a del op on a deleted document is committed (ShareDB semantics for concurrent deletes)
    Strict,  // collab.delete_doc(): the document must exist
};

// Validates collection and id (non-empty, at most 256 bytes, valid text).
DocKey make_key(std::string collection, std::string id);

SubmitResult submit(const DocKey &key, std::optional<std::int64_t> base_version, const std::string &op_json,
                    const std::optional<std::string> &src, std::optional<std::int64_t> seq,
                    DeleteMode delete_mode = DeleteMode::ShareDb);
SnapshotResult fetch(const DocKey &key);
SnapshotResult snapshot_at(const DocKey &key, std::int64_t version);
SnapshotResult snapshot_at_time(const DocKey &key, TimestampTz ts);

// Registered from _PG_init.
void define_settings();
void register_callbacks();

} // namespace collab::pg
