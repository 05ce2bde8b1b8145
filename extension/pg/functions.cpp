// pg_collab SQL-callable functions. Each is an extern "C" trampoline (COLLAB_FUNCTION) around a C++ body.
#include <string>

#include "pg.hpp"
#include "store.hpp"
#include "types.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace {

using namespace collab;
using namespace collab::pg;

Datum return_snapshot(FunctionCallInfo fcinfo, const SnapshotResult &r) {
    Datum values[3] = {Int64GetDatum(r.version), 0, 0};
    bool nulls[3] = {false, !r.type_uri, !r.data_json};
    if (r.type_uri) values[1] = text_datum(*r.type_uri);
    if (r.data_json) values[2] = jsonb_from_text(*r.data_json);
    return return_row(fcinfo, values, nulls);
}

DocKey key_args(FunctionCallInfo fcinfo) {
    require_arg(fcinfo, 0, "collection");
    require_arg(fcinfo, 1, "id");
    return make_key(text_arg(fcinfo, 0), text_arg(fcinfo, 1));
}

const OtType &type_arg(FunctionCallInfo fcinfo, int n) {
    require_arg(fcinfo, n, "type");
    return require_type(text_arg(fcinfo, n));
}

JsonPtr json_arg(FunctionCallInfo fcinfo, int n, const char *name) {
    require_arg(fcinfo, n, name);
    return json_parse(jsonb_arg_text(fcinfo, n), ErrorKind::OpBadlyFormed, name);
}

Datum jsonb_result(const JsonPtr &value) { return jsonb_from_text(json_dump(value.get())); }

} // namespace

// collab.create_doc(collection, id, type, data, org) -> the document's new version
COLLAB_FUNCTION(collab_create_doc) {
    const DocKey key = key_args(fcinfo);
    const OtType &type = type_arg(fcinfo, 2);
    JsonPtr op = json_own(json_new_object());
    JsonPtr create = json_own(json_new_object());
    json_object_set_new(create.get(), "type", json_stringn(type.uri().data(), type.uri().size()));
    if (!PG_ARGISNULL(3))
        json_object_set_new(create.get(), "data",
                            json_parse(jsonb_arg_text(fcinfo, 3), ErrorKind::DataBadlyFormed, "data").release());
    json_object_set(op.get(), "create", create.get());
    std::optional<std::string> org;
    if (PG_NARGS() > 4 && !PG_ARGISNULL(4)) org = text_arg(fcinfo, 4);
    if (org && org->empty()) throw CollabError(Code::InvalidArgument, "org must be NULL or a non-empty name");
    const SubmitResult r =
        submit(key, std::nullopt, json_dump(op.get()), std::nullopt, std::nullopt, DeleteMode::ShareDb, org);
    return Int64GetDatum(r.version + 1);
}

// collab.delete_doc(collection, id) -> the document's new version
COLLAB_FUNCTION(collab_delete_doc) {
    const DocKey key = key_args(fcinfo);
    const SubmitResult r = submit(key, std::nullopt, "{\"del\":true}", std::nullopt, std::nullopt, DeleteMode::Strict);
    return Int64GetDatum(r.version + 1);
}

// collab.submit(collection, id, base_version, op, src, seq) -> table(version, op)
COLLAB_FUNCTION(collab_submit) {
    const DocKey key = key_args(fcinfo);
    require_arg(fcinfo, 3, "op");
    const std::optional<std::int64_t> base =
        PG_ARGISNULL(2) ? std::nullopt : std::optional<std::int64_t>(PG_GETARG_INT64(2));
    const std::optional<std::string> src =
        PG_ARGISNULL(4) ? std::nullopt : std::optional<std::string>(text_arg(fcinfo, 4));
    const std::optional<std::int64_t> seq =
        PG_ARGISNULL(5) ? std::nullopt : std::optional<std::int64_t>(PG_GETARG_INT64(5));
    const SubmitResult r = submit(key, base, jsonb_arg_text(fcinfo, 3), src, seq);
    Datum values[2] = {Int64GetDatum(r.version), jsonb_from_text(r.op_json)};
    bool nulls[2] = {false, false};
    return return_row(fcinfo, values, nulls);
}

// collab.fetch(collection, id) -> table(version, type, data)
COLLAB_FUNCTION(collab_fetch) { return return_snapshot(fcinfo, fetch(key_args(fcinfo))); }

// collab.snapshot_at(collection, id, version) -> table(version, type, data)
COLLAB_FUNCTION(collab_snapshot_at) {
    const DocKey key = key_args(fcinfo);
    require_arg(fcinfo, 2, "version");
    return return_snapshot(fcinfo, snapshot_at(key, PG_GETARG_INT64(2)));
}

// collab.snapshot_at_time(collection, id, at) -> table(version, type, data)
COLLAB_FUNCTION(collab_snapshot_at_time) {
    const DocKey key = key_args(fcinfo);
    require_arg(fcinfo, 2, "at");
    return return_snapshot(fcinfo, snapshot_at_time(key, PG_GETARG_TIMESTAMPTZ(2)));
}

// collab.apply(type, data, op) -> data
COLLAB_FUNCTION(collab_apply) {
    const OtType &type = type_arg(fcinfo, 0);
    JsonPtr data =
        PG_ARGISNULL(1) ? nullptr : json_parse(jsonb_arg_text(fcinfo, 1), ErrorKind::DataBadlyFormed, "data");
    JsonPtr op = json_arg(fcinfo, 2, "op");
    return jsonb_result(type.apply(data.get(), op.get()));
}

// collab.transform(type, op, other, side) -> op'
COLLAB_FUNCTION(collab_transform) {
    const OtType &type = type_arg(fcinfo, 0);
    JsonPtr op = json_arg(fcinfo, 1, "op");
    JsonPtr other = json_arg(fcinfo, 2, "other");
    require_arg(fcinfo, 3, "side");
    const Side side = parse_side(text_arg(fcinfo, 3));
    return jsonb_result(type.transform(op.get(), other.get(), side));
}

// collab.compose(type, a, b) -> a then b as one op
COLLAB_FUNCTION(collab_compose) {
    const OtType &type = type_arg(fcinfo, 0);
    JsonPtr a = json_arg(fcinfo, 1, "a");
    JsonPtr b = json_arg(fcinfo, 2, "b");
    return jsonb_result(type.compose(a.get(), b.get()));
}

// collab.normalize(type, op) -> op in canonical form
COLLAB_FUNCTION(collab_normalize) {
    const OtType &type = type_arg(fcinfo, 0);
    JsonPtr op = json_arg(fcinfo, 1, "op");
    return jsonb_result(type.normalize(op.get()));
}

// collab.invert(type, op) -> the op that undoes op
COLLAB_FUNCTION(collab_invert) {
    const OtType &type = type_arg(fcinfo, 0);
    JsonPtr op = json_arg(fcinfo, 1, "op");
    return jsonb_result(type.invert(op.get()));
}

// collab.transform_position(type, pos, op) -> pos'
COLLAB_FUNCTION(collab_transform_position) {
    const OtType &type = type_arg(fcinfo, 0);
    require_arg(fcinfo, 1, "pos");
    const std::int64_t pos = PG_GETARG_INT64(1);
    JsonPtr op = json_arg(fcinfo, 2, "op");
    return Int64GetDatum(type.transform_position(pos, op.get()));
}

// collab.type_uri(type) -> the URI of a type given by name or URI
COLLAB_FUNCTION(collab_type_uri) {
    const OtType &type = type_arg(fcinfo, 0);
    return text_datum(std::string(type.uri()));
}

namespace {

const json_t *member(const json_t *obj, const char *name) { return json_object_get(obj, name); }

// An actor {"user": "...", "org": "..." or null}, as the bridge passes it. Bridge functions require one.
Actor parse_actor(const json_t *a, const std::string &where) {
    if (a == nullptr || json_is_null(a))
        throw CollabError(Code::ActorRequired,
                          where + "the acting user (\"a\": {\"user\", \"org\"}) is missing: bridge functions "
                                  "always act for an authenticated user",
                          "The application acts as the system through collab.submit(), collab.fetch() and friends.");
    const json_t *user = member(a, "user"), *org = member(a, "org");
    if (!json_is_object(a) || !json_is_string(user) || json_string_length(user) == 0 ||
        (org != nullptr && !json_is_null(org) && (!json_is_string(org) || json_string_length(org) == 0)))
        throw CollabError(Code::InvalidArgument,
                          where + "the acting user must be {\"user\": non-empty string, \"org\": non-empty string "
                                  "or null}");
    Actor out{std::string(json_string_value(user), json_string_length(user)), std::nullopt};
    if (json_is_string(org)) out.org = std::string(json_string_value(org), json_string_length(org));
    return out;
}

Actor actor_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) return parse_actor(nullptr, "");
    JsonPtr a = json_parse(jsonb_arg_text(fcinfo, n), ErrorKind::InvalidArgument, "actor");
    return parse_actor(a.get(), "");
}

BatchRequest parse_batch_request(const json_t *r, std::size_t index) {
    BatchRequest out;
    const std::string where = "request " + std::to_string(index) + ": ";
    try {
        if (!json_is_object(r)) throw CollabError(Code::InvalidArgument, where + "must be an object");
        const json_t *c = member(r, "c"), *d = member(r, "d"), *v = member(r, "v"), *op = member(r, "op");
        const json_t *src = member(r, "src"), *seq = member(r, "seq");
        if (!json_is_string(c) || !json_is_string(d))
            throw CollabError(Code::InvalidArgument, where + "\"c\" (collection) and \"d\" (id) must be strings");
        if (v != nullptr && !json_is_null(v) && !json_is_integer(v))
            throw CollabError(Code::InvalidArgument, where + "\"v\" must be an integer or null");
        if (op == nullptr) throw CollabError(Code::InvalidArgument, where + "\"op\" is missing");
        if (src != nullptr && !json_is_null(src) && !json_is_string(src))
            throw CollabError(Code::InvalidArgument, where + "\"src\" must be a string");
        if (seq != nullptr && !json_is_null(seq) && !json_is_integer(seq))
            throw CollabError(Code::InvalidArgument, where + "\"seq\" must be an integer");
        out.key = make_key(json_string_value(c), json_string_value(d));
        if (json_is_integer(v)) out.base_version = json_integer_value(v);
        out.op_json = json_dump(op);
        if (json_is_string(src)) out.src = std::string(json_string_value(src), json_string_length(src));
        if (json_is_integer(seq)) out.seq = json_integer_value(seq);
        if (json_is_false(member(r, "m"))) out.want_missed = false;
        if (out.src.has_value() != out.seq.has_value())
            throw CollabError(Code::InvalidArgument, where + "\"src\" and \"seq\" must be given together");
        out.actor = parse_actor(member(r, "a"), where);
    } catch (const CollabError &e) {
        out.key.reset();
        const bool prefixed = e.code() == Code::InvalidArgument || e.code() == Code::ActorRequired;
        out.parse_error = prefixed ? std::string(e.what()) : where + e.what();
        out.parse_code = e.code() == Code::ActorRequired ? Code::ActorRequired : Code::InvalidArgument;
    }
    return out;
}

std::string logged_ops_json(const std::vector<LoggedOp> &ops) {
    JsonPtr arr = json_own(json_array());
    for (const LoggedOp &op : ops) {
        JsonPtr o = json_own(json_new_object());
        json_object_set_new(o.get(), "v", json_integer(op.version));
        json_object_set_new(o.get(), "op",
                            json_parse(op.op_json, ErrorKind::DataBadlyFormed, "a committed op").release());
        if (op.src) json_object_set_new(o.get(), "src", json_stringn(op.src->data(), op.src->size()));
        if (op.seq) json_object_set_new(o.get(), "seq", json_integer(*op.seq));
        json_array_append(arr.get(), o.get());
    }
    return json_dump(arr.get());
}

JsonPtr array_arg(FunctionCallInfo fcinfo, int n, const char *name) {
    require_arg(fcinfo, n, name);
    // The text overloads (used by the bridge) skip jsonb's parse and print: jansson reads the text directly.
    Oid type = InvalidOid;
    pg_guard([&] { type = get_fn_expr_argtype(fcinfo->flinfo, n); });
    JsonPtr value =
        json_parse(type == TEXTOID ? text_arg(fcinfo, n) : jsonb_arg_text(fcinfo, n), ErrorKind::InvalidArgument, name);
    if (!json_is_array(value.get()))
        throw CollabError(Code::InvalidArgument, std::string(name) + " must be a JSON array");
    return value;
}

} // namespace

// collab.submit_many(requests) -> table(i, version, op, missed, error_code, error_message)
COLLAB_FUNCTION(collab_submit_many) {
    JsonPtr reqs = array_arg(fcinfo, 0, "requests");
    std::vector<BatchRequest> requests;
    requests.reserve(json_array_size(reqs.get()));
    for (std::size_t i = 0; i < json_array_size(reqs.get()); ++i)
        requests.push_back(parse_batch_request(json_array_get(reqs.get(), i), i));
    const std::vector<BatchOutcome> outcomes = submit_many(requests);
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const BatchOutcome &o = outcomes[i];
        Datum values[6] = {Int32GetDatum(static_cast<std::int32_t>(i)), 0, 0, 0, 0, 0};
        bool nulls[6] = {false, !o.result, !o.result, !o.result, o.result.has_value(), o.result.has_value()};
        if (o.result) {
            values[1] = Int64GetDatum(o.result->version);
            values[2] = jsonb_from_text(o.result->op_json);
            values[3] = jsonb_from_text(logged_ops_json(o.result->missed));
        } else {
            values[4] = text_datum(o.sqlstate);
            values[5] = text_datum(o.message);
        }
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return static_cast<Datum>(0);
}

// collab.fetch_many(requests) -> table(collection, id, version, type, data); never-created documents are version 0
COLLAB_FUNCTION(collab_fetch_many) {
    JsonPtr reqs = array_arg(fcinfo, 0, "requests");
    std::vector<DocKey> keys;
    std::vector<Actor> actors;
    for (std::size_t i = 0; i < json_array_size(reqs.get()); ++i) {
        const json_t *r = json_array_get(reqs.get(), i);
        const json_t *c = member(r, "c"), *d = member(r, "d");
        const std::string where = "request " + std::to_string(i) + ": ";
        if (!json_is_string(c) || !json_is_string(d))
            throw CollabError(Code::InvalidArgument, where + "\"c\" (collection) and \"d\" (id) must be strings");
        keys.push_back(make_key(json_string_value(c), json_string_value(d)));
        actors.push_back(parse_actor(member(r, "a"), where));
    }
    struct Row {
        SnapshotResult snapshot{0, std::nullopt, std::nullopt};
        std::optional<CollabError> denied;
    };
    std::vector<Row> results(keys.size());
    begin_access_checks();
    for (std::size_t i = 0; i < keys.size(); ++i) {
        check_interrupts();
        try {
            require_right(keys[i], actors[i], Right::Viewer);
        } catch (const CollabError &e) {
            results[i].denied = e;
            continue;
        }
        results[i].snapshot = fetch_or_empty(keys[i]);
    }
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const SnapshotResult &r = results[i].snapshot;
        const std::optional<CollabError> &denied = results[i].denied;
        Datum values[7] = {
            text_datum(keys[i].collection), text_datum(keys[i].id), Int64GetDatum(r.version), 0, 0, 0, 0};
        bool nulls[7] = {false, false, denied.has_value(), !r.type_uri, !r.data_json, !denied, !denied};
        if (r.type_uri) values[3] = text_datum(*r.type_uri);
        if (r.data_json) values[4] = jsonb_from_text(*r.data_json);
        if (denied) {
            values[5] = text_datum(unpack_sql_state(sqlstate(denied->code())));
            values[6] = text_datum(denied->what());
        }
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return static_cast<Datum>(0);
}

namespace {
// (actor, collection, id, <fourth>) of the bridge's history functions: the document, once the actor may read it.
DocKey readable_doc_args(FunctionCallInfo fcinfo, const char *fourth) {
    const Actor actor = actor_arg(fcinfo, 0);
    require_arg(fcinfo, 1, "collection");
    require_arg(fcinfo, 2, "id");
    require_arg(fcinfo, 3, fourth);
    DocKey key = make_key(text_arg(fcinfo, 1), text_arg(fcinfo, 2));
    begin_access_checks();
    require_right(key, actor, Right::Viewer);
    return key;
}
} // namespace

// collab.bridge_snapshot_at(actor, collection, id, version) -> table(version, type, data)
COLLAB_FUNCTION(collab_bridge_snapshot_at) {
    const DocKey key = readable_doc_args(fcinfo, "version");
    return return_snapshot(fcinfo, snapshot_at(key, PG_GETARG_INT64(3)));
}

// collab.bridge_snapshot_at_time(actor, collection, id, at) -> table(version, type, data)
COLLAB_FUNCTION(collab_bridge_snapshot_at_time) {
    const DocKey key = readable_doc_args(fcinfo, "at");
    return return_snapshot(fcinfo, snapshot_at_time(key, PG_GETARG_TIMESTAMPTZ(3)));
}

// collab.issue_client_id(user_id) -> a client id bound to that user
COLLAB_FUNCTION(collab_issue_client_id) {
    require_arg(fcinfo, 0, "user_id");
    return text_datum(issue_client_id(text_arg(fcinfo, 0)));
}

// collab.check_access_many(requests) -> table(i, rank): each {"a", "c", "d"}'s right (0 none .. 3 owner)
COLLAB_FUNCTION(collab_check_access_many) {
    JsonPtr reqs = array_arg(fcinfo, 0, "requests");
    std::vector<std::int32_t> ranks;
    begin_access_checks();
    for (std::size_t i = 0; i < json_array_size(reqs.get()); ++i) {
        const json_t *r = json_array_get(reqs.get(), i);
        const json_t *c = member(r, "c"), *d = member(r, "d");
        const std::string where = "request " + std::to_string(i) + ": ";
        if (!json_is_string(c) || !json_is_string(d))
            throw CollabError(Code::InvalidArgument, where + "\"c\" (collection) and \"d\" (id) must be strings");
        const Actor actor = parse_actor(member(r, "a"), where);
        check_interrupts();
        ranks.push_back(
            static_cast<std::int32_t>(access_right(make_key(json_string_value(c), json_string_value(d)), actor)));
    }
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (std::size_t i = 0; i < ranks.size(); ++i) {
        Datum values[2] = {Int32GetDatum(static_cast<std::int32_t>(i)), Int32GetDatum(ranks[i])};
        bool nulls[2] = {false, false};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return static_cast<Datum>(0);
}

namespace {
Datum pg_init_impl(FunctionCallInfo) {
    define_settings();
    register_callbacks();
    return 0;
}
} // namespace

void _PG_init(void) { collab::pg::invoke(pg_init_impl, nullptr); }
