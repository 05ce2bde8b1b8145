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
    // collab.documents.data should be brought up to date once the caller is done with this document.
    bool live_data_due = false;
};

// The authenticated user a bridge acts for. Bridge functions check every request against collab.acl for it; the
// application's own functions act as the system (no actor).
struct Actor {
    std::string user;
    std::optional<std::string> org; // none: the user belongs to no organization
};

// Rights, ordered: each includes the ones before it.
enum class Right { None = 0, Viewer = 1, Editor = 2, Owner = 3 };

// The actor's right on a document (or, for a document that does not exist yet, on what creating it would give).
// None when the document belongs to another organization than the actor's.
Right access_right(const DocKey &key, const Actor &actor);
// Bridge functions call this once before their access checks: it drops cached rights when grants changed.
void begin_access_checks();
// Throws ReadDenied (need Viewer) or WriteDenied (need Editor) when the actor's right is lower.
void require_right(const DocKey &key, const Actor &actor, Right need);
// A client id bound to user, as a bridge issues them (collab.issue_client_id()).
std::string issue_client_id(const std::string &user);
// Throws ClientIdNotYours unless src is a client id that a bridge issued to actor.user.
void require_client_id_of(const Actor &actor, const std::string &src);

// One op of collab.submit_many().
struct BatchRequest {
    std::optional<DocKey> key; // none when the request was invalid (see error)
    std::optional<std::int64_t> base_version;
    std::string op_json;
    std::optional<std::string> src;
    std::optional<std::int64_t> seq;
    std::optional<std::string> parse_error; // message for a request that could not be read (parse_code)
    Code parse_code = Code::InvalidArgument;
    bool want_missed = true;    // "m": false when the caller streams the document's ops anyway
    std::optional<Actor> actor; // "a": checked for Editor, and src must be the actor's
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

// new_doc_org: the organization a document gets when this op creates its row (the first create).
SubmitResult submit(const DocKey &key, std::optional<std::int64_t> base_version, const std::string &op_json,
                    const std::optional<std::string> &src, std::optional<std::int64_t> seq,
                    DeleteMode delete_mode = DeleteMode::ShareDb,
                    const std::optional<std::string> &new_doc_org = std::nullopt,
                    const std::optional<std::string> &acting_user = std::nullopt);
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
