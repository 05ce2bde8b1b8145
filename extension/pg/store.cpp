#include "store.hpp"

#include <algorithm>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "text_unicode.hpp"
#include "types.hpp"

namespace collab::pg {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Settings

int cache_size_kb = 64 * 1024;  // pg_collab.document_cache_size
int checkpoint_interval = 1000; // pg_collab.checkpoint_interval
int checkpoint_min_kb = 64;     // pg_collab.checkpoint_min_size
int live_data_max_kb = 64;      // pg_collab.live_data_max_size
constexpr std::size_t kMaxKeyBytes = 256;
constexpr std::int64_t kMaxCatchUpOps = 10000; // beyond this a cached document is rebuilt from its checkpoint

// ---------------------------------------------------------------------------------------------------------------
// SPI: prepared plans kept for the life of the backend.

enum PlanId {
    kBumpDoc,
    kReadDoc,
    kEnsureDoc,
    kFindDuplicate,
    kOpsRange,
    kInsertOp,
    kUpdateDoc,
    kUpdateDocCheckpoint,
    kInsertSnapshot,
    kLoadCheckpoint,
    kVersionAtTime,
    kAccessRight,
    kClientIdSecret,
    kAclVersion,
    kWriteLiveData,
    kPlanCount
};

struct PlanSpec {
    const char *sql;
    int nargs;
    Oid types[9];
};

constexpr char kDocColumns[] = "type, version, checkpoint_version, tail_ops, tail_bytes, snapshot_bytes, "
                               "(extract(epoch from created_at) * 1000000)::bigint";

const PlanSpec kPlans[kPlanCount] = {
    // kBumpDoc: locks the document row and advances it by one op in one statement (RETURNING the row as it was);
    // rare cases (a duplicate, a create or delete, a checkpoint, a transformed op) correct it afterwards.
    {"UPDATE collab.documents SET version = version + 1, tail_ops = tail_ops + 1, tail_bytes = tail_bytes + $3, "
     "updated_at = clock_timestamp() WHERE collection = $1 AND id = $2 RETURNING type, version - 1, "
     "checkpoint_version, tail_ops - 1, tail_bytes - $3, snapshot_bytes, "
     "(extract(epoch from created_at) * 1000000)::bigint",
     3,
     {TEXTOID, TEXTOID, INT8OID}},
    {nullptr, 2, {TEXTOID, TEXTOID}}, // kReadDoc, built below
    {"INSERT INTO collab.documents (collection, id, org) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
     3,
     {TEXTOID, TEXTOID, TEXTOID}},
    {"SELECT version, op::text FROM collab.ops WHERE collection = $1 AND id = $2 AND src = $3 AND seq = $4",
     4,
     {TEXTOID, TEXTOID, TEXTOID, INT8OID}},
    {"SELECT version, op::text, src, seq FROM collab.ops WHERE collection = $1 AND id = $2 AND version >= $3 "
     "AND version < $4 ORDER BY version",
     4,
     {TEXTOID, TEXTOID, INT8OID, INT8OID}},
    {"INSERT INTO collab.ops (collection, id, version, op, src, seq, user_id, created_at) "
     "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, clock_timestamp())",
     7,
     {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, INT8OID, TEXTOID}},
    {"UPDATE collab.documents SET type = $3, version = $4, tail_ops = $5, tail_bytes = $6, "
     "updated_at = clock_timestamp() WHERE collection = $1 AND id = $2",
     6,
     {TEXTOID, TEXTOID, TEXTOID, INT8OID, INT4OID, INT8OID}},
    {"UPDATE collab.documents SET type = $3, version = $4, tail_ops = 0, tail_bytes = 0, "
     "checkpoint_version = $4, snapshot_bytes = $5, data = $6::jsonb, data_version = $4, "
     "updated_at = clock_timestamp() WHERE collection = $1 AND id = $2",
     6,
     {TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID}},
    {"INSERT INTO collab.snapshots (collection, id, version, type, data) VALUES ($1, $2, $3, $4, $5::jsonb)",
     5,
     {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID}},
    {"SELECT version, type, data::text FROM collab.snapshots WHERE collection = $1 AND id = $2 AND version <= $3 "
     "ORDER BY version DESC LIMIT 1",
     3,
     {TEXTOID, TEXTOID, INT8OID}},
    {"SELECT coalesce(max(version) + 1, 0) FROM collab.ops WHERE collection = $1 AND id = $2 AND created_at <= $3",
     3,
     {TEXTOID, TEXTOID, TIMESTAMPTZOID}},
    // kAccessRight: the same rule as collab.access_rank() (40_access.sql); keep the two in step.
    {"SELECT CASE WHEN EXISTS (SELECT FROM collab.documents d WHERE d.collection = $1 AND d.id = $2 "
     "AND d.org IS DISTINCT FROM $4) THEN 0 ELSE coalesce((SELECT max(CASE a.role WHEN 'owner' THEN 3 "
     "WHEN 'editor' THEN 2 WHEN 'viewer' THEN 1 ELSE 0 END) FROM collab.acl a WHERE a.collection = $1 "
     "AND (a.doc_id = $2 OR a.doc_id IS NULL) AND (a.principal = 'user:' || $3 OR a.principal = 'org:' || $4)), 0) "
     "END::bigint, EXISTS (SELECT FROM collab.documents d WHERE d.collection = $1 AND d.id = $2)",
     4,
     {TEXTOID, TEXTOID, TEXTOID, TEXTOID}},
    {"SELECT secret FROM collab.bridge_secrets WHERE name = 'client_id'", 0, {}},
    {"SELECT version FROM collab.acl_version", 0, {}},
    {"UPDATE collab.documents SET data = $3::jsonb, data_version = $4 WHERE collection = $1 AND id = $2",
     4,
     {TEXTOID, TEXTOID, TEXTOID, INT8OID}},
};

SPIPlanPtr plans[kPlanCount];

SPIPlanPtr plan(PlanId id) {
    if (plans[id] != nullptr) return plans[id];
    std::string sql;
    if (id == kReadDoc)
        sql = std::string("SELECT ") + kDocColumns + " FROM collab.documents WHERE collection = $1 AND id = $2";
    else
        sql = kPlans[id].sql;
    const char *sql_c = sql.c_str();
    const PlanSpec &spec = kPlans[id];
    SPIPlanPtr p = nullptr;
    pg_guard([&] {
        // Generic plans: with custom plans (the plan cache's default for the first executions, and forever when
        // they look cheaper) every submit would be planned again, including partition pruning of collab.ops.
        p = SPI_prepare_cursor(sql_c, spec.nargs, const_cast<Oid *>(spec.types), CURSOR_OPT_GENERIC_PLAN);
        if (p == nullptr) elog(ERROR, "pg_collab: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        SPI_keepplan(p);
    });
    plans[id] = p;
    return p;
}

// A query argument. Strings stay alive in the caller for the duration of the call.
struct Arg {
    Datum value = 0;
    bool null = true;
    static Arg text(const std::string &s) { return Arg{text_datum(s), false}; }
    static Arg text(const std::optional<std::string> &s) { return s ? text(*s) : Arg{}; }
    static Arg int8(std::int64_t v) { return Arg{Int64GetDatum(v), false}; }
    static Arg int8(std::optional<std::int64_t> v) { return v ? int8(*v) : Arg{}; }
    static Arg int4(std::int32_t v) { return Arg{Int32GetDatum(v), false}; }
    static Arg timestamptz(TimestampTz v) { return Arg{TimestampTzGetDatum(v), false}; }
};

// Runs a prepared plan. Always with read_only = false: SPI then takes a fresh snapshot for every query, so that after
// waiting for a document's row lock we see the ops the previous holder committed (READ COMMITTED).
std::uint64_t exec(PlanId id, std::initializer_list<Arg> args, long limit = 0) {
    SPIPlanPtr p = plan(id);
    Datum values[9];
    char nulls[9];
    int i = 0;
    for (const Arg &a : args) {
        values[i] = a.value;
        nulls[i] = a.null ? 'n' : ' ';
        ++i;
    }
    std::uint64_t processed = 0;
    pg_guard([&] {
        const int rc = SPI_execute_plan(p, values, nulls, false, limit);
        if (rc < 0) elog(ERROR, "pg_collab: SPI_execute_plan failed: %s", SPI_result_code_string(rc));
        processed = SPI_processed;
    });
    return processed;
}

std::optional<std::string> col_text(std::uint64_t row, int col) {
    char *s = nullptr;
    pg_guard([&] { s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col); });
    if (s == nullptr) return std::nullopt;
    return std::string(s);
}

bool col_bool(std::uint64_t row, int col) {
    bool isnull = true;
    Datum d = 0;
    pg_guard([&] { d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull); });
    return !isnull && DatumGetBool(d);
}

std::optional<std::int64_t> col_int(std::uint64_t row, int col) {
    bool isnull = true;
    Datum d = 0;
    Oid type = InvalidOid;
    pg_guard([&] {
        d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
        type = SPI_gettypeid(SPI_tuptable->tupdesc, col);
    });
    if (isnull) return std::nullopt;
    return type == INT4OID ? static_cast<std::int64_t>(DatumGetInt32(d)) : DatumGetInt64(d);
}

void spi_connect() {
    pg_guard([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_collab: SPI_connect failed");
    });
}

void spi_finish() {
    pg_guard([] { SPI_finish(); });
}

// ---------------------------------------------------------------------------------------------------------------
// Documents and their state

struct DocRow {
    std::optional<std::string> type_uri;
    std::int64_t version = 0;
    std::int64_t checkpoint_version = 0;
    std::int64_t tail_ops = 0;
    std::int64_t tail_bytes = 0;
    std::int64_t snapshot_bytes = 0;
    std::int64_t generation = 0; // created_at of the row: tells a re-created document (or extension) apart
};

std::string doc_name(const DocKey &key) { return "'" + key.collection + "/" + key.id + "'"; }

DocRow doc_row() {
    DocRow r;
    r.type_uri = col_text(0, 1);
    r.version = *col_int(0, 2);
    r.checkpoint_version = col_int(0, 3).value_or(0);
    r.tail_ops = *col_int(0, 4);
    r.tail_bytes = *col_int(0, 5);
    r.snapshot_bytes = *col_int(0, 6);
    r.generation = *col_int(0, 7);
    return r;
}

std::optional<DocRow> read_doc(const DocKey &key) {
    if (exec(kReadDoc, {Arg::text(key.collection), Arg::text(key.id)}) == 0) return std::nullopt;
    return doc_row();
}

// Locks the document row and advances it by one op (version, tail_ops, tail_bytes += guessed_bytes); returns the
// row as it was. Concurrent submits to one document serialize here.
std::optional<DocRow> bump_doc(const DocKey &key, std::int64_t guessed_bytes) {
    if (exec(kBumpDoc, {Arg::text(key.collection), Arg::text(key.id), Arg::int8(guessed_bytes)}) == 0)
        return std::nullopt;
    return doc_row();
}

void set_doc(const DocKey &key, const std::optional<std::string> &type_uri, std::int64_t version, std::int64_t tail_ops,
             std::int64_t tail_bytes) {
    exec(kUpdateDoc, {Arg::text(key.collection), Arg::text(key.id), Arg::text(type_uri), Arg::int8(version),
                      Arg::int4(static_cast<std::int32_t>(tail_ops)), Arg::int8(tail_bytes)});
}

[[noreturn]] void no_such_document(const DocKey &key) {
    throw CollabError(Code::DocumentDoesNotExist, "document " + doc_name(key) + " does not exist",
                      "Create it first with collab.create_doc(collection, id, type, data).");
}

// A document's content at some version: its type (none when not created or deleted) and snapshot.
constexpr std::size_t kRecentOps = 1000; // committed ops kept with a cached document, for transforms

struct DocState {
    const OtType *type = nullptr;
    std::unique_ptr<Snapshot> snapshot;
    std::int64_t version = 0;
    // The newest committed ops, contiguous and ending at version - 1: a submit based on a recent version is
    // transformed over these without reading the op-log.
    std::deque<LoggedOp> recent;
    std::size_t recent_bytes = 0;

    void remember(LoggedOp op) {
        if (!recent.empty() && recent.back().version + 1 != op.version) forget();
        recent_bytes += op.op_json.size();
        recent.push_back(std::move(op));
        while (recent.size() > kRecentOps) {
            recent_bytes -= recent.front().op_json.size();
            recent.pop_front();
        }
    }
    void forget() {
        recent.clear();
        recent_bytes = 0;
    }
    // Ops [from, to) when all of them are remembered.
    std::optional<std::vector<LoggedOp>> recall(std::int64_t from, std::int64_t to) const {
        if (from >= to) return std::vector<LoggedOp>{};
        if (recent.empty() || from < recent.front().version || to != recent.back().version + 1) return std::nullopt;
        return std::vector<LoggedOp>(recent.begin() + (from - recent.front().version), recent.end());
    }
};

enum class OpKind { Edit, Create, Delete };

struct ParsedOp {
    OpKind kind = OpKind::Edit;
    JsonPtr json;       // the whole op
    const json_t *edit; // Edit: the type op
    const OtType *create_type = nullptr;
    const json_t *create_data = nullptr;
};

ParsedOp parse_op(const std::string &op_json, const char *what) {
    ParsedOp p;
    p.json = json_parse(op_json, ErrorKind::OpBadlyFormed, what);
    const json_t *j = p.json.get();
    if (json_is_array(j)) {
        p.kind = OpKind::Edit;
        p.edit = j;
        return p;
    }
    if (json_is_object(j)) {
        const json_t *create = json_object_get(j, "create");
        const json_t *del = json_object_get(j, "del");
        if (create != nullptr && json_object_size(j) == 1) {
            const json_t *type = json_object_get(create, "type");
            if (!json_is_object(create) || !json_is_string(type))
                throw OtError(ErrorKind::OpBadlyFormed,
                              "a create op must be {\"create\": {\"type\": \"<type name or URI>\", \"data\": ...}}");
            p.kind = OpKind::Create;
            p.create_type = &require_type(json_string_value(type));
            p.create_data = json_object_get(create, "data");
            return p;
        }
        if (del != nullptr && json_object_size(j) == 1) {
            if (!json_is_true(del)) throw OtError(ErrorKind::OpBadlyFormed, "a delete op must be {\"del\": true}");
            p.kind = OpKind::Delete;
            return p;
        }
    }
    throw OtError(ErrorKind::OpBadlyFormed,
                  std::string(what) +
                      " must be an edit (a JSON array of the type's components), "
                      "{\"create\": {\"type\": ..., \"data\": ...}} or {\"del\": true}, not " +
                      json_dump(j));
}

// Applies a committed op (from the op-log) to a state.
void replay(DocState &st, const std::string &op_json) {
    ParsedOp op = parse_op(op_json, "a committed op");
    switch (op.kind) {
    case OpKind::Create:
        st.type = op.create_type;
        st.snapshot = op.create_type->create(op.create_data);
        break;
    case OpKind::Delete:
        st.type = nullptr;
        st.snapshot.reset();
        break;
    case OpKind::Edit:
        if (st.snapshot == nullptr)
            throw CollabError(Code::OpsMissing, "the op-log holds an edit at version " + std::to_string(st.version) +
                                                    " of a document that did not exist then");
        st.snapshot->apply(op.edit);
        break;
    }
    ++st.version;
}

std::vector<LoggedOp> ops_range(const DocKey &key, std::int64_t from, std::int64_t to) {
    std::vector<LoggedOp> out;
    if (from >= to) return out;
    const std::uint64_t n =
        exec(kOpsRange, {Arg::text(key.collection), Arg::text(key.id), Arg::int8(from), Arg::int8(to)});
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
        out.push_back({*col_int(i, 1), *col_text(i, 2), col_text(i, 3), col_int(i, 4)});
    if (static_cast<std::int64_t>(out.size()) != to - from)
        throw CollabError(Code::OpsMissing, "the op-log of document " + doc_name(key) +
                                                " is missing ops between versions " + std::to_string(from) + " and " +
                                                std::to_string(to));
    return out;
}

void replay_range(DocState &st, const DocKey &key, std::int64_t to) {
    for (LoggedOp &op : ops_range(key, st.version, to)) {
        check_interrupts();
        replay(st, op.op_json);
        st.remember(std::move(op));
    }
}

// Rebuilds the state at `version` from the nearest checkpoint at or before it plus the ops after it.
DocState load_state(const DocKey &key, std::int64_t version) {
    DocState st;
    if (exec(kLoadCheckpoint, {Arg::text(key.collection), Arg::text(key.id), Arg::int8(version)}, 1) > 0) {
        st.version = *col_int(0, 1);
        const std::optional<std::string> type_uri = col_text(0, 2);
        if (type_uri) {
            st.type = &require_type(*type_uri);
            const std::optional<std::string> data = col_text(0, 3);
            JsonPtr json = json_parse(data.value_or("null"), ErrorKind::DataBadlyFormed, "a stored checkpoint");
            st.snapshot = st.type->create(json.get());
        }
    }
    replay_range(st, key, version);
    return st;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-backend cache of current document states, so that an op costs O(op) rather than O(document). Entries changed
// by the running transaction are dropped if it (or a subtransaction) aborts; the op-log stays the truth.

struct CacheEntry {
    DocState state;
    std::int64_t generation = 0;
    std::size_t bytes = 0;
    std::list<std::string>::iterator lru;
};

class DocCache {
  public:
    CacheEntry *find(const std::string &key) {
        auto it = entries_.find(key);
        if (it == entries_.end()) return nullptr;
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return &it->second;
    }
    // Must be called before an entry is changed, so that an abort can drop it.
    void touch(const std::string &key) {
        SubTransactionId sub = GetCurrentSubTransactionId();
        std::vector<SubTransactionId> &subs = touched_[key];
        if (subs.empty() || subs.back() != sub) subs.push_back(sub);
    }
    CacheEntry &put(const std::string &key, DocState state, std::int64_t generation) {
        erase(key);
        lru_.push_front(key);
        CacheEntry &e = entries_[key];
        e.state = std::move(state);
        e.generation = generation;
        e.lru = lru_.begin();
        account(e);
        return e;
    }
    void account(CacheEntry &e) {
        total_ -= e.bytes;
        e.bytes = 256 + (e.state.snapshot ? e.state.snapshot->memory_bytes() : 0) + e.state.recent_bytes +
                  e.state.recent.size() * sizeof(LoggedOp);
        total_ += e.bytes;
    }
    void erase(const std::string &key) {
        auto it = entries_.find(key);
        if (it == entries_.end()) return;
        total_ -= it->second.bytes;
        lru_.erase(it->second.lru);
        entries_.erase(it);
    }
    // Keeps memory under pg_collab.document_cache_size, never evicting entries the transaction changed.
    void evict() {
        const std::size_t limit = static_cast<std::size_t>(cache_size_kb) * 1024;
        auto it = lru_.end();
        while (total_ > limit && it != lru_.begin()) {
            auto victim = std::prev(it);
            if (touched_.count(*victim) != 0) {
                it = victim;
                continue;
            }
            const std::string key = *victim;
            erase(key); // removes victim only; `it` stays valid
        }
    }
    void commit() { touched_.clear(); }
    // A subtransaction ended: forget entries it changed (abort) or hand them to its parent (commit).
    void end_subtransaction(SubTransactionId sub, SubTransactionId parent, bool committed) {
        std::vector<std::string> drop;
        for (auto &[key, subs] : touched_) {
            if (subs.empty() || subs.back() != sub) continue;
            if (!committed) {
                drop.push_back(key);
                continue;
            }
            subs.pop_back();
            if (subs.empty() || subs.back() != parent) subs.push_back(parent);
        }
        for (const std::string &k : drop) {
            erase(k);
            touched_.erase(k);
        }
    }
    void abort() {
        for (const auto &[k, subs] : touched_)
            erase(k);
        touched_.clear();
    }

  private:
    std::unordered_map<std::string, CacheEntry> entries_;
    std::list<std::string> lru_;
    // Entries changed by the running transaction, with the subtransactions that changed them (innermost last).
    std::unordered_map<std::string, std::vector<SubTransactionId>> touched_;
    std::size_t total_ = 0;
};

DocCache &cache() {
    static DocCache instance;
    return instance;
}

std::string cache_key(const DocKey &key) { return key.collection + '\0' + key.id; }

// The current state of a document whose row was just read (locked for writes), from the cache when it is current.
CacheEntry &current_state(const DocKey &key, const DocRow &row) {
    DocCache &c = cache();
    const std::string k = cache_key(key);
    c.touch(k);
    CacheEntry *e = c.find(k);
    if (e != nullptr && e->generation == row.generation && e->state.version <= row.version &&
        row.version - e->state.version <= kMaxCatchUpOps) {
        replay_range(e->state, key, row.version); // ops other backends committed since
        c.account(*e);
        return *e;
    }
    return c.put(k, load_state(key, row.version), row.generation);
}

// ---------------------------------------------------------------------------------------------------------------
// Change feed: one NOTIFY per document per transaction, sent at pre-commit with the final version.

struct PendingNotify {
    SubTransactionId subxact;
    std::int64_t version;
};

std::map<std::pair<std::string, std::string>, std::vector<PendingNotify>> &pending_notifies() {
    static std::map<std::pair<std::string, std::string>, std::vector<PendingNotify>> instance;
    return instance;
}

void queue_notify(const DocKey &key, std::int64_t version) {
    SubTransactionId sub = InvalidSubTransactionId;
    pg_guard([&] { sub = GetCurrentSubTransactionId(); });
    std::vector<PendingNotify> &v = pending_notifies()[{key.collection, key.id}];
    if (!v.empty() && v.back().subxact == sub)
        v.back().version = version;
    else
        v.push_back({sub, version});
}

void send_notifies() {
    auto &pending = pending_notifies();
    for (const auto &[doc, versions] : pending) {
        if (versions.empty()) continue;
        JsonPtr payload = json_own(json_new_object());
        json_object_set_new(payload.get(), "c", json_stringn(doc.first.data(), doc.first.size()));
        json_object_set_new(payload.get(), "d", json_stringn(doc.second.data(), doc.second.size()));
        json_object_set_new(payload.get(), "v", json_integer(versions.back().version));
        const std::string text = json_dump(payload.get());
        const char *text_c = text.c_str();
        pg_guard([&] { Async_Notify("collab", text_c); });
    }
    pending.clear();
}

void forget_access_rights(); // cached rights may rest on a document row the abort removed

void subxact_end(SubTransactionId sub, SubTransactionId parent, bool commit) {
    if (!commit) forget_access_rights();
    for (auto &[doc, versions] : pending_notifies()) {
        while (!versions.empty() && versions.back().subxact == sub) {
            if (!commit) {
                versions.pop_back();
                continue;
            }
            const std::int64_t v = versions.back().version;
            versions.pop_back();
            if (!versions.empty() && versions.back().subxact == parent)
                versions.back().version = v;
            else
                versions.push_back({parent, v});
            break;
        }
    }
    cache().end_subtransaction(sub, parent, commit);
}

struct XactEventArg {
    XactEvent event;
};
struct SubXactEventArg {
    SubXactEvent event;
    SubTransactionId sub;
    SubTransactionId parent;
};

void on_xact_impl(void *p) {
    switch (static_cast<XactEventArg *>(p)->event) {
    case XACT_EVENT_PRE_COMMIT:
        send_notifies();
        break;
    case XACT_EVENT_PRE_PREPARE:
        if (!pending_notifies().empty())
            throw CollabError(Code::InvalidArgument,
                              "cannot PREPARE a transaction that changed pg_collab documents: its change-feed "
                              "notifications cannot be sent from a prepared transaction",
                              "Commit document changes in ordinary transactions.");
        break;
    case XACT_EVENT_COMMIT:
        pending_notifies().clear();
        cache().commit();
        cache().evict();
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PREPARE:
    case XACT_EVENT_PARALLEL_ABORT:
        pending_notifies().clear();
        cache().abort();
        forget_access_rights();
        break;
    default:
        break;
    }
}

void on_subxact_impl(void *p) {
    auto *a = static_cast<SubXactEventArg *>(p);
    if (a->event == SUBXACT_EVENT_ABORT_SUB) subxact_end(a->sub, a->parent, false);
    if (a->event == SUBXACT_EVENT_COMMIT_SUB) subxact_end(a->sub, a->parent, true);
}

extern "C" void collab_xact_callback(XactEvent event, void *) {
    XactEventArg arg{event};
    invoke_void(on_xact_impl, &arg);
}

extern "C" void collab_subxact_callback(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void *) {
    SubXactEventArg arg{event, sub, parent};
    invoke_void(on_subxact_impl, &arg);
}

// ---------------------------------------------------------------------------------------------------------------
// Submit

std::string snapshot_json(const DocState &st) { return st.snapshot ? json_dump(st.snapshot->to_json().get()) : "null"; }

// Documents whose data is kept queryable as jsonb in collab.documents.data.
bool has_live_data(const DocState &st) { return st.type != nullptr && st.type->name() == "json0"; }

void write_checkpoint(const DocKey &key, const DocState &st) {
    const std::optional<std::string> type_uri =
        st.type ? std::optional<std::string>(std::string(st.type->uri())) : std::nullopt;
    const std::optional<std::string> data = st.snapshot ? std::optional<std::string>(snapshot_json(st)) : std::nullopt;
    exec(kInsertSnapshot,
         {Arg::text(key.collection), Arg::text(key.id), Arg::int8(st.version), Arg::text(type_uri), Arg::text(data)});
    exec(kUpdateDocCheckpoint, {Arg::text(key.collection), Arg::text(key.id), Arg::text(type_uri),
                                Arg::int8(st.version), Arg::int8(static_cast<std::int64_t>(data ? data->size() : 0)),
                                Arg::text(has_live_data(st) ? data : std::nullopt)});
}

// Brings collab.documents.data up to the document's current version (callers decide when: once per call and document).
void write_live_data(const DocKey &key, const DocState &st) {
    exec(kWriteLiveData,
         {Arg::text(key.collection), Arg::text(key.id), Arg::text(snapshot_json(st)), Arg::int8(st.version)});
}

SubmitResult submit_locked(const DocKey &key, std::optional<std::int64_t> base_version, const std::string &op_json,
                           const std::optional<std::string> &src, std::optional<std::int64_t> seq,
                           DeleteMode delete_mode, const std::optional<std::string> &new_doc_org,
                           const std::optional<std::string> &acting_user) {
    ParsedOp op = parse_op(op_json, "op");
    if (op.kind == OpKind::Create)
        exec(kEnsureDoc, {Arg::text(key.collection), Arg::text(key.id), Arg::text(new_doc_org)});
    // The op's size as it will be stored if no transform changes it.
    const std::int64_t guessed_bytes =
        op.kind == OpKind::Edit ? static_cast<std::int64_t>(json_dump(op.edit).size()) : 0;
    const std::optional<DocRow> row = bump_doc(key, guessed_bytes);
    if (!row) no_such_document(key);

    // A resubmitted (src, seq) is answered with the original commit and changes nothing (invariant 3). Checked
    // under the row lock, so a concurrent resubmission waits for the first and then sees it.
    if (src) {
        if (exec(kFindDuplicate, {Arg::text(key.collection), Arg::text(key.id), Arg::text(src), Arg::int8(seq)}, 1) >
            0) {
            SubmitResult dup{*col_int(0, 1), *col_text(0, 2), {}};
            set_doc(key, row->type_uri, row->version, row->tail_ops, row->tail_bytes); // undo the bump
            if (base_version && *base_version >= 0 && *base_version < dup.version)
                dup.missed = ops_range(key, *base_version, dup.version);
            return dup;
        }
    }

    const std::int64_t current = row->version;
    const std::int64_t base = base_version.value_or(current);
    if (base < 0) throw CollabError(Code::InvalidArgument, "base_version must be >= 0, got " + std::to_string(base));
    if (base > current)
        throw CollabError(Code::VersionNewerThanDoc,
                          "base_version " + std::to_string(base) + " is newer than document " + doc_name(key) +
                              " (version " + std::to_string(current) + ")",
                          "Fetch the document and rebase the op on its current version.");

    CacheEntry &entry = current_state(key, *row);
    DocState &st = entry.state;

    // Transform against every op committed since base, one at a time, with side 'left' (invariant 4).
    JsonPtr edit = op.kind == OpKind::Edit ? json_ref(const_cast<json_t *>(op.edit)) : nullptr;
    const OtType *doc_type = row->type_uri ? &require_type(*row->type_uri) : nullptr;
    std::optional<std::vector<LoggedOp>> remembered = st.recall(base, current);
    std::vector<LoggedOp> missed = remembered ? std::move(*remembered) : ops_range(key, base, current);
    std::vector<ParsedOp> committed_edits; // parsed once; transformed over in one pass below
    for (const LoggedOp &committed : missed) {
        check_interrupts();
        ParsedOp c = parse_op(committed.op_json, "a committed op");
        if (c.kind == OpKind::Delete) {
            if (op.kind != OpKind::Delete)
                throw CollabError(Code::DocumentWasDeleted, "document " + doc_name(key) + " was deleted at version " +
                                                                std::to_string(committed.version) +
                                                                ", after the op's base version " +
                                                                std::to_string(base));
        } else if (c.kind == OpKind::Create || op.kind == OpKind::Create) {
            throw CollabError(Code::DocumentAlreadyCreated,
                              c.kind == OpKind::Create
                                  ? "document " + doc_name(key) + " was created by another op (op version " +
                                        std::to_string(committed.version) + ") since this op's base version " +
                                        std::to_string(base)
                                  : "document " + doc_name(key) + " already exists: it was created before version " +
                                        std::to_string(committed.version + 1) +
                                        " and edited since this create's "
                                        "base version " +
                                        std::to_string(base));
        } else if (op.kind == OpKind::Edit) {
            committed_edits.push_back(std::move(c));
        }
    }
    if (!committed_edits.empty()) {
        std::vector<const json_t *> others;
        others.reserve(committed_edits.size());
        for (const ParsedOp &c : committed_edits)
            others.push_back(c.edit);
        edit = doc_type->transform_over(edit.get(), others, Side::Left);
    }

    std::string stored;
    std::int64_t op_bytes = 0;
    switch (op.kind) {
    case OpKind::Create: {
        if (st.type != nullptr)
            throw CollabError(Code::DocumentAlreadyCreated, "document " + doc_name(key) + " already exists (version " +
                                                                std::to_string(current) + ")");
        std::unique_ptr<Snapshot> snapshot = op.create_type->create(op.create_data);
        JsonPtr stored_json =
            json_own(json_pack("{s:{s:s%,s:O?}}", "create", "type", op.create_type->uri().data(),
                               op.create_type->uri().size(), "data", const_cast<json_t *>(op.create_data)));
        stored = json_dump(stored_json.get());
        st.type = op.create_type;
        st.snapshot = std::move(snapshot);
        break;
    }
    case OpKind::Delete:
        // ShareDB commits a delete of a deleted document (two users deleting at once); collab.delete_doc() refuses.
        if (st.type == nullptr && (delete_mode == DeleteMode::Strict || current == 0)) {
            if (current > 0)
                throw CollabError(Code::DocumentDoesNotExist, "document " + doc_name(key) + " is already deleted");
            no_such_document(key);
        }
        stored = "{\"del\":true}";
        st.type = nullptr;
        st.snapshot.reset();
        break;
    case OpKind::Edit:
        if (st.type == nullptr) {
            if (current > 0)
                throw CollabError(Code::DocumentWasDeleted, "document " + doc_name(key) + " is deleted",
                                  "Create it again with collab.create_doc().");
            no_such_document(key);
        }
        st.snapshot->apply(edit.get()); // validates against the document; atomic on error
        stored = json_dump(edit.get());
        op_bytes = static_cast<std::int64_t>(stored.size());
        break;
    }
    st.version = current + 1;
    st.remember(LoggedOp{current, stored, src, seq});
    cache().account(entry);

    exec(kInsertOp, {Arg::text(key.collection), Arg::text(key.id), Arg::int8(current), Arg::text(stored),
                     Arg::text(src), Arg::int8(seq), Arg::text(acting_user)});
    const std::int64_t tail_ops = row->tail_ops + 1;
    const std::int64_t tail_bytes = row->tail_bytes + op_bytes;
    const bool checkpoint = op.kind != OpKind::Edit || tail_ops >= checkpoint_interval ||
                            tail_bytes >= std::max<std::int64_t>(row->snapshot_bytes, checkpoint_min_kb * 1024LL);
    if (checkpoint)
        write_checkpoint(key, st);
    else if (op_bytes != guessed_bytes) // transformed: keep the byte count exact
        set_doc(key, row->type_uri, st.version, tail_ops, tail_bytes);
    queue_notify(key, st.version);
    // The checkpoint's JSON size plus the ops' since bounds the document's size without serialising it.
    const bool live_data_due = !checkpoint && has_live_data(st) &&
                               row->snapshot_bytes + tail_bytes <= static_cast<std::int64_t>(live_data_max_kb) * 1024;
    return SubmitResult{current, std::move(stored), std::move(missed), live_data_due};
}

SnapshotResult to_result(const DocState &st) {
    SnapshotResult r;
    r.version = st.version;
    if (st.type) {
        r.type_uri = std::string(st.type->uri());
        r.data_json = snapshot_json(st);
    }
    return r;
}

} // namespace

DocKey make_key(std::string collection, std::string id) {
    for (const auto &[name, value] : {std::pair<const char *, const std::string *>{"collection", &collection},
                                      std::pair<const char *, const std::string *>{"id", &id}}) {
        if (value->empty()) throw CollabError(Code::InvalidArgument, std::string(name) + " must not be empty");
        if (value->size() > kMaxKeyBytes)
            throw CollabError(Code::InvalidArgument, std::string(name) + " is " + std::to_string(value->size()) +
                                                         " bytes long; the limit is " + std::to_string(kMaxKeyBytes));
    }
    return DocKey{std::move(collection), std::move(id)};
}

// ---------------------------------------------------------------------------------------------------------------
// Access control (see 40_access.sql)

namespace {

// Client ids are 32 hex digits of randomness followed by the first 12 bytes, in hex, of
// HMAC-SHA256(secret, random ":" user): the same as server/ids.cpp.
constexpr std::size_t kRandomHex = 32, kMacBytes = 12;

std::string hex(const unsigned char *data, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(2 * n, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xF];
    }
    return out;
}

std::string client_id_mac(const std::string &secret, std::string_view random_hex, const std::string &user) {
    const std::string message = std::string(random_hex) + ":" + user;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char *>(message.data()), message.size(), mac, &len) == nullptr ||
        len < kMacBytes)
        throw CollabError(Code::InvalidArgument, "HMAC-SHA256 failed");
    return hex(mac, kMacBytes);
}

bool client_id_matches(const std::string &secret, const std::string &id, const std::string &user) {
    if (id.size() != kRandomHex + 2 * kMacBytes) return false;
    const std::string expected = client_id_mac(secret, std::string_view(id).substr(0, kRandomHex), user);
    return CRYPTO_memcmp(expected.data(), id.data() + kRandomHex, expected.size()) == 0;
}

std::string actor_name(const Actor &actor) {
    return "user '" + actor.user + "'" + (actor.org ? " of organization '" + *actor.org + "'" : std::string());
}

// The secret is created with the extension and never changed: read once per backend.
const std::string &client_id_secret() {
    static std::string secret;
    if (secret.empty()) {
        spi_connect();
        const bool found = exec(kClientIdSecret, {}, 1) > 0 && col_text(0, 1).has_value();
        std::string value = found ? *col_text(0, 1) : std::string();
        spi_finish();
        if (!found)
            throw CollabError(Code::InvalidArgument, "collab.bridge_secrets holds no client id secret",
                              "Reinstall the extension: the secret is created by CREATE EXTENSION.");
        secret = std::move(value);
    }
    return secret;
}

} // namespace

// Rights answered since collab.acl_version last changed (every grant and revoke bumps it, at commit), for documents
// that existed: a document's organization never changes once its row exists, so such an answer stays true until the
// next grant or revoke. Checked once per call of a bridge function (begin_access_checks()), not per request.
struct AccessCache {
    std::int64_t version = -1;
    std::unordered_map<std::string, Right> rights;
};

AccessCache &access_cache() {
    static AccessCache instance;
    return instance;
}

namespace {
void forget_access_rights() { access_cache().rights.clear(); }
} // namespace

std::string access_key(const DocKey &key, const Actor &actor) {
    std::string k = key.collection + '\0' + key.id + '\0' + actor.user + '\0';
    if (actor.org) k += "o" + *actor.org;
    return k;
}

void begin_access_checks() {
    spi_connect();
    exec(kAclVersion, {}, 1);
    const std::int64_t version = col_int(0, 1).value_or(0);
    spi_finish();
    AccessCache &c = access_cache();
    if (version != c.version || c.rights.size() > 100000) {
        c.rights.clear();
        c.version = version;
    }
}

Right access_right(const DocKey &key, const Actor &actor) {
    AccessCache &c = access_cache();
    const std::string k = access_key(key, actor);
    if (c.version >= 0) {
        auto it = c.rights.find(k);
        if (it != c.rights.end()) return it->second;
    }
    spi_connect();
    exec(kAccessRight, {Arg::text(key.collection), Arg::text(key.id), Arg::text(actor.user), Arg::text(actor.org)}, 1);
    const std::int64_t rank = col_int(0, 1).value_or(0);
    const bool exists = col_bool(0, 2);
    spi_finish();
    const Right right = static_cast<Right>(std::clamp<std::int64_t>(rank, 0, 3));
    if (exists && c.version >= 0) c.rights.emplace(k, right);
    return right;
}

void require_right(const DocKey &key, const Actor &actor, Right need) {
    if (access_right(key, actor) >= need) return;
    if (need == Right::Viewer)
        throw CollabError(Code::ReadDenied, actor_name(actor) + " may not read document " + doc_name(key),
                          "Grant a right with collab.grant(collection, id or NULL, principal, 'viewer').");
    throw CollabError(Code::WriteDenied, actor_name(actor) + " may not change document " + doc_name(key),
                      "Grant a right with collab.grant(collection, id or NULL, principal, 'editor').");
}

std::string issue_client_id(const std::string &user) {
    if (user.empty()) throw CollabError(Code::InvalidArgument, "user_id must not be empty");
    const std::string secret = client_id_secret();
    unsigned char random[kRandomHex / 2];
    if (RAND_bytes(random, sizeof(random)) != 1) throw CollabError(Code::InvalidArgument, "RAND_bytes failed");
    const std::string r = hex(random, sizeof(random));
    return r + client_id_mac(secret, r, user);
}

void require_client_id_of(const Actor &actor, const std::string &src) {
    // A client submits many ops with one id: remember the pairs already verified (bounded).
    static std::unordered_set<std::string> verified;
    std::string pair = src + '\0' + actor.user;
    if (verified.count(pair) != 0) return;
    if (client_id_matches(client_id_secret(), src, actor.user)) {
        if (verified.size() >= 100000) verified.clear();
        verified.insert(std::move(pair));
        return;
    }
    throw CollabError(Code::ClientIdNotYours,
                      "the op's client id (src) was not issued to " + actor_name(actor) +
                          ": a client may only submit with the id its own connection was given",
                      "Reconnect: the bridge issues a new client id in the handshake.");
}

namespace {

// Writes collab.documents.data at the document's current version. The caller holds the row lock (it submitted).
void flush_live_data(const DocKey &key) {
    CacheEntry *e = cache().find(cache_key(key));
    if (e != nullptr) {
        cache().touch(cache_key(key));
    } else { // dropped by a failed subtransaction after the op that made the data due
        const std::optional<DocRow> row = read_doc(key);
        if (!row) return;
        e = &current_state(key, *row);
    }
    if (has_live_data(e->state)) write_live_data(key, e->state);
}

// A submit without its live data write (submit_many writes it once per document).
SubmitResult submit_unflushed(const DocKey &key, std::optional<std::int64_t> base_version, const std::string &op_json,
                              const std::optional<std::string> &src, std::optional<std::int64_t> seq,
                              DeleteMode delete_mode, const std::optional<std::string> &new_doc_org,
                              const std::optional<std::string> &acting_user) {
    if (src.has_value() != seq.has_value())
        throw CollabError(Code::InvalidArgument, "src and seq must be given together (or both NULL)");
    if (seq && *seq < 0) throw CollabError(Code::InvalidArgument, "seq must be >= 0, got " + std::to_string(*seq));
    if (src && src->empty()) throw CollabError(Code::InvalidArgument, "src must not be empty");
    spi_connect();
    SubmitResult r = submit_locked(key, base_version, op_json, src, seq, delete_mode, new_doc_org, acting_user);
    spi_finish();
    return r;
}

} // namespace

SubmitResult submit(const DocKey &key, std::optional<std::int64_t> base_version, const std::string &op_json,
                    const std::optional<std::string> &src, std::optional<std::int64_t> seq, DeleteMode delete_mode,
                    const std::optional<std::string> &new_doc_org, const std::optional<std::string> &acting_user) {
    SubmitResult r = submit_unflushed(key, base_version, op_json, src, seq, delete_mode, new_doc_org, acting_user);
    if (r.live_data_due) {
        spi_connect();
        flush_live_data(key);
        spi_finish();
    }
    return r;
}

namespace {

// Runs body in an internal subtransaction (as PL/pgSQL does for EXCEPTION blocks). Returns false, with the error's
// SQLSTATE and message, if it failed; its work is then rolled back. Interrupts and out-of-memory still propagate.
template <typename Body> bool in_subtransaction(Body &&body, std::string &sqlstate, std::string &message) {
    MemoryContext oldcontext = CurrentMemoryContext;
    ResourceOwner oldowner = CurrentResourceOwner;
    pg_guard([&] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(oldcontext);
    });
    bool ok = true;
    try {
        body();
    } catch (const PgError &e) {
        ok = false;
        sqlstate = unpack_sql_state(e.data()->sqlerrcode);
        message = e.what();
    } catch (const CollabError &e) {
        ok = false;
        sqlstate = unpack_sql_state(pg::sqlstate(e.code()));
        message = e.what();
    } catch (const OtError &e) {
        ok = false;
        sqlstate = unpack_sql_state(pg::sqlstate(code_for(e.kind())));
        message = e.what();
    }
    pg_guard([&] {
        if (ok)
            ReleaseCurrentSubTransaction();
        else
            RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(oldcontext);
        CurrentResourceOwner = oldowner;
    });
    return ok;
}

} // namespace

std::vector<BatchOutcome> submit_many(const std::vector<BatchRequest> &requests) {
    begin_access_checks();
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    const auto key_of = [&](std::size_t i) {
        static const DocKey none;
        return requests[i].key ? std::tie(requests[i].key->collection, requests[i].key->id)
                               : std::tie(none.collection, none.id);
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key_of(a) < key_of(b); });
    std::vector<BatchOutcome> outcomes(requests.size());
    // Whether the newest successful submit to the document being worked through left its live data due.
    bool live_data_due = false;
    for (std::size_t n = 0; n < order.size(); ++n) {
        const std::size_t i = order[n];
        check_interrupts();
        const BatchRequest &r = requests[i];
        BatchOutcome &out = outcomes[i];
        if (r.parse_error) {
            out.sqlstate = unpack_sql_state(pg::sqlstate(r.parse_code));
            out.message = *r.parse_error;
            continue;
        }
        in_subtransaction(
            [&] {
                if (r.actor) {
                    require_right(*r.key, *r.actor, Right::Editor);
                    if (r.src) require_client_id_of(*r.actor, *r.src);
                }
                out.result = submit_unflushed(*r.key, r.base_version, r.op_json, r.src, r.seq, DeleteMode::ShareDb,
                                              r.actor ? r.actor->org : std::nullopt,
                                              r.actor ? std::optional<std::string>(r.actor->user) : std::nullopt);
            },
            out.sqlstate, out.message);
        if (out.result) live_data_due = out.result->live_data_due;
        if (out.result && !r.want_missed) out.result->missed.clear();
        // The document's last request: write its live data once for all of them.
        if (live_data_due && (n + 1 == order.size() || key_of(order[n + 1]) != key_of(i))) {
            live_data_due = false;
            std::string sqlstate, message;
            if (!in_subtransaction(
                    [&] {
                        spi_connect();
                        flush_live_data(*r.key);
                        spi_finish();
                    },
                    sqlstate, message))
                pg_guard([&] {
                    ereport(WARNING, (errmsg("pg_collab: collab.documents.data of %s was not updated: %s",
                                             doc_name(*r.key).c_str(), message.c_str())));
                });
        }
    }
    return outcomes;
}

SnapshotResult fetch_or_empty(const DocKey &key) {
    spi_connect();
    const std::optional<DocRow> row = read_doc(key);
    SnapshotResult r = row ? to_result(current_state(key, *row).state) : SnapshotResult{0, std::nullopt, std::nullopt};
    spi_finish();
    return r;
}

SnapshotResult fetch(const DocKey &key) {
    spi_connect();
    const std::optional<DocRow> row = read_doc(key);
    if (!row) no_such_document(key);
    SnapshotResult r = to_result(current_state(key, *row).state);
    spi_finish();
    return r;
}

SnapshotResult snapshot_at(const DocKey &key, std::int64_t version) {
    if (version < 0) throw CollabError(Code::InvalidArgument, "version must be >= 0, got " + std::to_string(version));
    spi_connect();
    const std::optional<DocRow> row = read_doc(key);
    if (!row) no_such_document(key);
    if (version > row->version)
        throw CollabError(Code::VersionNewerThanDoc, "version " + std::to_string(version) + " is newer than document " +
                                                         doc_name(key) + " (version " + std::to_string(row->version) +
                                                         ")");
    SnapshotResult r = to_result(load_state(key, version));
    spi_finish();
    return r;
}

SnapshotResult snapshot_at_time(const DocKey &key, TimestampTz ts) {
    spi_connect();
    const std::optional<DocRow> row = read_doc(key);
    if (!row) no_such_document(key);
    exec(kVersionAtTime, {Arg::text(key.collection), Arg::text(key.id), Arg::timestamptz(ts)});
    const std::int64_t version = std::min(*col_int(0, 1), row->version);
    SnapshotResult r = to_result(load_state(key, version));
    spi_finish();
    return r;
}

bool dev_login = false;

void define_settings() {
    pg_guard([] {
        DefineCustomIntVariable(
            "pg_collab.document_cache_size", "Memory per backend for cached current documents (kB).",
            "Submits and fetches of a cached document cost O(op) instead of O(document).", &cache_size_kb, 64 * 1024, 0,
            INT_MAX / 2, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr, nullptr);
        DefineCustomIntVariable("pg_collab.checkpoint_interval", "Ops between snapshot checkpoints of a document.",
                                "A checkpoint is also written when the ops since the last one outgrow the snapshot.",
                                &checkpoint_interval, 1000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
        DefineCustomIntVariable(
            "pg_collab.checkpoint_min_size", "Op bytes since the last checkpoint that always trigger a new one (kB).",
            nullptr, &checkpoint_min_kb, 64, 1, INT_MAX / 1024, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr, nullptr);
        DefineCustomIntVariable(
            "pg_collab.live_data_max_size",
            "Largest json0 document whose collab.documents.data every change rewrites (kB).",
            "Larger documents get their data refreshed with each checkpoint, so that an op never costs O(document).",
            &live_data_max_kb, 64, 0, INT_MAX / 1024, PGC_USERSET, GUC_UNIT_KB, nullptr, nullptr, nullptr);
        DefineCustomBoolVariable(
            "pg_collab.dev_login",
            "Allows collab.dev_create_login_ticket(): a login for any user, for development only.",
            "Never turn this on in production: whoever can reach the bridge can then log in as anyone.", &dev_login,
            false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
        MarkGUCPrefixReserved("pg_collab");
    });
}

void register_callbacks() {
    pg_guard([] {
        RegisterXactCallback(collab_xact_callback, nullptr);
        RegisterSubXactCallback(collab_subxact_callback, nullptr);
    });
}

} // namespace collab::pg
