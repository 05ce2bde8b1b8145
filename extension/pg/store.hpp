// pg_collab PostgreSQL glue: documents, the op-log, checkpoints, the per-backend document cache and the change feed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg.hpp"

namespace collab::pg {

struct DocKey {
    std::string collection;
    std::string id;
};

// An op as stored in the op-log.
struct LoggedOp {
    std::int64_t version;
    std::string op_json;
    std::optional<std::string> src;
    std::optional<std::int64_t> seq;
};

struct SubmitResult {
    std::int64_t version; // the op's own version (the v of a ShareDB ack)
    std::string op_json;  // the op as committed (transformed), or the original op of a duplicate
    // The ops committed between the op's base version and its version: what it was transformed against (for a
    // duplicate, what the submitter missed). A ShareDB server sends them before the ack.
    std::vector<LoggedOp> missed;
};

// One op of collab.submit_many().
struct BatchRequest {
    std::optional<DocKey> key; // none when the request was invalid (see error)
    std::optional<std::int64_t> base_version;
    std::string op_json;
    std::optional<std::string> src;
    std::optional<std::int64_t> seq;
    std::optional<std::string> parse_error; // PC006 message for a request that could not be read
    bool want_missed = true; // "m": false when the caller streams the document's ops anyway
};

struct BatchOutcome {
    std::optional<SubmitResult> result;
    std::string sqlstate; // when !result
    std::string message;
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
// Commits each request in its own subtransaction, in (collection, id) order (so that concurrent batches never
// deadlock); a failing request is reported in its outcome and does not affect the others.
std::vector<BatchOutcome> submit_many(const std::vector<BatchRequest> &requests);
SnapshotResult fetch(const DocKey &key);
// As fetch(), but a document that was never created is version 0 without type (ShareDB's answer) instead of an error.
SnapshotResult fetch_or_empty(const DocKey &key);
SnapshotResult snapshot_at(const DocKey &key, std::int64_t version);
SnapshotResult snapshot_at_time(const DocKey &key, TimestampTz ts);

// Registered from _PG_init.
void define_settings();
void register_callbacks();

} // namespace collab::pg
