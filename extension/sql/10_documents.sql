-- pg_collab 0.1.0: collaborative documents with server-ordered OT, a versioned op-log and a change feed.
\echo Use "CREATE EXTENSION pg_collab" to load this file. \quit

-- Every object lives in @extschema@ (collab). Plain SQL below resolves nothing through a caller's search_path.
SET LOCAL search_path = pg_catalog, pg_temp;

-- Roles. collab_app: a trusted application (reads everything, writes through the API, acts as the system).
-- collab_bridge: the WebSocket bridge (executes the API only; no direct table access). Both are NOLOGIN groups:
-- GRANT them to your login roles. They are shared by every database of the cluster.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'collab_app') THEN
        CREATE ROLE collab_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'collab_bridge') THEN
        CREATE ROLE collab_bridge NOLOGIN;
    END IF;
END
$roles$;

-- One row per document: its type, current version and checkpoint bookkeeping. A deleted document keeps its row
-- (type NULL) so that its versions keep counting when it is created again.
-- Keys use the "C" collation: they are identifiers, and byte-wise comparison keeps every index lookup cheap.
CREATE TABLE @extschema@.documents (
    collection         text        COLLATE "C" NOT NULL,
    id                 text        COLLATE "C" NOT NULL,
    type               text,                        -- type URI; NULL before the create and after a delete
    org                text        COLLATE "C",     -- the organization the document belongs to (NULL: none); set
                                                    -- when the document is first created, never changed by edits
    version            bigint      NOT NULL DEFAULT 0,
    checkpoint_version bigint,                      -- version of the newest row in collab.snapshots
    tail_ops           integer     NOT NULL DEFAULT 0, -- ops since that checkpoint
    tail_bytes         bigint      NOT NULL DEFAULT 0, -- their JSON size
    snapshot_bytes     bigint      NOT NULL DEFAULT 0, -- JSON size of that checkpoint
    -- json0 documents: their data at data_version, as jsonb, for SQL queries and indexes. Rewritten by every call
    -- that changes a document of up to pg_collab.live_data_max_size, so that data_version = version; a larger
    -- document's data is refreshed with each checkpoint. NULL for other types and deleted documents.
    data               jsonb       COMPRESSION lz4,
    data_version       bigint,
    created_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (collection, id)
);

-- The op-log: the source of truth. Op version v turns document version v into v + 1. Hash-partitioned by document
-- key; every query names the key.
CREATE TABLE @extschema@.ops (
    collection text        COLLATE "C" NOT NULL,
    id         text        COLLATE "C" NOT NULL,
    version    bigint      NOT NULL,
    op         jsonb       NOT NULL,  -- an edit (the type's op), {"create": {"type": URI, "data": ...}} or {"del": true}
    src        text        COLLATE "C", -- client id of the submitter (NULL for SQL submits without one)
    seq        bigint,                -- the submitter's sequence number
    user_id    text,                  -- acting user, when known
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(), -- server time, metadata only
    PRIMARY KEY (collection, id, version),
    UNIQUE (collection, id, src, seq)
) PARTITION BY HASH (collection, id);
-- (Versions >= 0 and src/seq given together are enforced by the functions, the only writers; CHECK constraints
-- would cost every insert a re-read of their expressions.)

DO $partitions$
BEGIN
    FOR i IN 0..15 LOOP
        EXECUTE pg_catalog.format(
            'CREATE TABLE @extschema@.%I PARTITION OF @extschema@.ops FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            'ops_p' OPERATOR(pg_catalog.||) pg_catalog.lpad(i::text, 2, '0'), i);
    END LOOP;
END
$partitions$;

-- Snapshot checkpoints (also the milestones for history): the document at `version`.
CREATE TABLE @extschema@.snapshots (
    collection text        COLLATE "C" NOT NULL,
    id         text        COLLATE "C" NOT NULL,
    version    bigint      NOT NULL,
    type       text,
    data       jsonb       COMPRESSION lz4, -- lz4: checkpoints of large documents compress several times faster
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    PRIMARY KEY (collection, id, version)
);

-- pg_dump skips the rows of an extension's tables unless they are marked as configuration: mark every table that
-- holds user data (the op-log's partitions hold its rows).
SELECT pg_catalog.pg_extension_config_dump('@extschema@.documents', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.snapshots', '');
DO $dump$
DECLARE
    part pg_catalog.regclass;
BEGIN
    FOR part IN SELECT i.inhrelid::pg_catalog.regclass FROM pg_catalog.pg_inherits i
                 WHERE i.inhparent OPERATOR(pg_catalog.=) '@extschema@.ops'::pg_catalog.regclass LOOP
        PERFORM pg_catalog.pg_extension_config_dump(part, '');  -- one call per statement
    END LOOP;
END
$dump$;

REVOKE ALL ON @extschema@.documents, @extschema@.ops, @extschema@.snapshots FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO collab_app, collab_bridge;
GRANT SELECT ON @extschema@.documents, @extschema@.ops, @extschema@.snapshots TO collab_app;

-- ---------------------------------------------------------------------------------------------------------------
-- Documents (SECURITY DEFINER: callers need EXECUTE only, never table rights)
--
-- Their queries are key lookups, planned once per backend and kept (generic plans). enable_seqscan = off keeps a plan
-- made while the statistics say a table is empty from scanning the whole, growing op-log ever after.

CREATE FUNCTION @extschema@.create_doc(collection text, id text, type text, data jsonb DEFAULT NULL,
                                       org text DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_create_doc';
COMMENT ON FUNCTION @extschema@.create_doc(text, text, text, jsonb, text) IS
'Creates a document of the given type (name or URI) with initial data, belonging to organization org (NULL: none; '
'only users of that organization can be given access); returns its new version.';

CREATE FUNCTION @extschema@.delete_doc(collection text, id text)
RETURNS bigint
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_delete_doc';
COMMENT ON FUNCTION @extschema@.delete_doc(text, text) IS
'Deletes a document (a {"del": true} entry in the op-log); returns its new version. It can be created again.';

CREATE FUNCTION @extschema@.submit(collection text, id text, base_version bigint, op jsonb,
                                   src text DEFAULT NULL, seq bigint DEFAULT NULL)
RETURNS TABLE (version bigint, op jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_submit';
COMMENT ON FUNCTION @extschema@.submit(text, text, bigint, jsonb, text, bigint) IS
'Transforms op (side left) over every op committed since base_version and commits it; returns its version and the op '
'as committed. A resubmitted (src, seq) returns the original and changes nothing.';

CREATE FUNCTION @extschema@.fetch(collection text, id text)
RETURNS TABLE (version bigint, type text, data jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_fetch';
COMMENT ON FUNCTION @extschema@.fetch(text, text) IS 'The current snapshot of a document.';

CREATE FUNCTION @extschema@.snapshot_at(collection text, id text, version bigint)
RETURNS TABLE (version bigint, type text, data jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_snapshot_at';
COMMENT ON FUNCTION @extschema@.snapshot_at(text, text, bigint) IS 'The document as it was at a version.';

CREATE FUNCTION @extschema@.snapshot_at_time(collection text, id text, at timestamptz)
RETURNS TABLE (version bigint, type text, data jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_snapshot_at_time';
COMMENT ON FUNCTION @extschema@.snapshot_at_time(text, text, timestamptz) IS
'The document as it was at a point in time (the ops committed at or before it).';

CREATE FUNCTION @extschema@.ops_since(collection text, id text, from_version bigint, to_version bigint DEFAULT NULL)
RETURNS TABLE (version bigint, op jsonb, src text, seq bigint, created_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
BEGIN
    IF collection IS NULL OR id IS NULL OR from_version IS NULL THEN
        RAISE EXCEPTION 'collection, id and from_version must not be NULL' USING ERRCODE = 'PC006';
    END IF;
    IF from_version < 0 THEN
        RAISE EXCEPTION 'from_version must be >= 0, got %', from_version USING ERRCODE = 'PC006';
    END IF;
    PERFORM FROM @extschema@.documents d WHERE d.collection = ops_since.collection AND d.id = ops_since.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % does not exist', quote_literal(ops_since.collection || '/' || ops_since.id)
            USING ERRCODE = 'PC010', HINT = 'Create it first with collab.create_doc(collection, id, type, data).';
    END IF;
    RETURN QUERY
        SELECT o.version, o.op, o.src, o.seq, o.created_at
          FROM @extschema@.ops o
         WHERE o.collection = ops_since.collection AND o.id = ops_since.id
           AND o.version >= from_version AND (to_version IS NULL OR o.version < to_version)
         ORDER BY o.version;
END
$fn$;
COMMENT ON FUNCTION @extschema@.ops_since(text, text, bigint, bigint) IS
'Committed ops with from_version <= version < to_version (to the end when to_version is NULL), in version order.';

-- ---------------------------------------------------------------------------------------------------------------
-- Batch functions (used by the bridge: one round trip and one commit for many ops or documents)

CREATE FUNCTION @extschema@.submit_many(requests jsonb)
RETURNS TABLE (i integer, version bigint, op jsonb, missed jsonb, error_code text, error_message text)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_submit_many';
COMMENT ON FUNCTION @extschema@.submit_many(jsonb) IS
'For the bridge. Submits an array of {"a", "c", "d", "v", "op", "src", "seq", "m"} in one transaction, each in its '
'own subtransaction and in (collection, id) order. "a" is the acting user {"user", "org"}: it needs the editor right '
'(PC021 otherwise), its src must have been issued to it (PC022), and a document it creates gets its org. Row i '
'answers request i: its version, the op as committed and the ops it was transformed against ("missed"; left empty '
'when "m" is false), or error_code (SQLSTATE) and error_message.';

-- The same with the requests as text (the bridge's form: no jsonb parse and print of the whole batch).
CREATE FUNCTION @extschema@.submit_many(requests text)
RETURNS TABLE (i integer, version bigint, op jsonb, missed jsonb, error_code text, error_message text)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_submit_many';
COMMENT ON FUNCTION @extschema@.submit_many(text) IS
'collab.submit_many(jsonb) with the requests as JSON text.';

CREATE FUNCTION @extschema@.fetch_many(requests jsonb)
RETURNS TABLE (collection text, id text, version bigint, type text, data jsonb, error_code text, error_message text)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_fetch_many';
COMMENT ON FUNCTION @extschema@.fetch_many(jsonb) IS
'For the bridge. The current snapshots of an array of {"a", "c", "d"} (a: the acting user, who needs the viewer '
'right; otherwise the row has error_code PC020 and no snapshot); a document never created is version 0 with NULL '
'type.';

CREATE FUNCTION @extschema@.ops_many(requests jsonb, max_ops_per_document integer DEFAULT 1000)
RETURNS TABLE (collection text, id text, current_version bigint, version bigint, op jsonb, src text, seq bigint,
               denied boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
BEGIN
    IF EXISTS (SELECT FROM jsonb_array_elements(requests) e
                WHERE jsonb_typeof(e -> 'a') IS DISTINCT FROM 'object'
                   OR jsonb_typeof(e -> 'a' -> 'user') IS DISTINCT FROM 'string') THEN
        RAISE EXCEPTION 'every request needs the acting user "a": {"user", "org"}'
            USING ERRCODE = 'PC023', HINT = 'Bridge functions always act for an authenticated user.';
    END IF;
    -- PL/pgSQL rather than SQL: its query plan is cached, while a SQL set-returning function is planned at every call.
    RETURN QUERY
    SELECT r.c, r.d, coalesce(doc.version, 0::bigint), o.version, o.op, o.src::text, o.seq, acc.rank < 1
      FROM jsonb_to_recordset(requests) AS r(c text, d text, "from" bigint, a jsonb)
      CROSS JOIN LATERAL (SELECT @extschema@.access_rank(r.c, r.d, r.a ->> 'user', r.a ->> 'org') AS rank) acc
      LEFT JOIN @extschema@.documents doc ON doc.collection = r.c AND doc.id = r.d
      LEFT JOIN LATERAL (
           SELECT x.version, x.op, x.src, x.seq
             FROM @extschema@.ops x
            WHERE acc.rank >= 1
              AND x.collection = r.c AND x.id = r.d AND x.version >= r."from" AND x.version < doc.version
            ORDER BY x.version
            LIMIT max_ops_per_document) o ON true
     ORDER BY r.c, r.d, o.version;
END
$fn$;
COMMENT ON FUNCTION @extschema@.ops_many(jsonb, integer) IS
'For the bridge. For an array of {"a", "c", "d", "from"} (a: the acting user): each document''s current version (0 '
'if it does not exist) and its committed ops from version "from" on (at most max_ops_per_document each), in version '
'order, read in one snapshot. A document without such ops has one row with NULL version and op. When the user may '
'not read the document, its one row has denied = true and no ops.';

CREATE FUNCTION @extschema@.transform_presence(actor jsonb, collection text, id text, from_version bigint,
                                               value jsonb)
RETURNS TABLE (version bigint, presence jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    o record;
    doc_type text;
    start_pos bigint;
    end_pos bigint;
    v bigint := from_version;
    p jsonb := value;
BEGIN
    IF jsonb_typeof(actor -> 'user') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'the acting user {"user", "org"} is missing' USING ERRCODE = 'PC023';
    END IF;
    IF @extschema@.access_rank(transform_presence.collection, transform_presence.id,
                               actor ->> 'user', actor ->> 'org') < 1 THEN
        RAISE EXCEPTION 'user % may not read document %', quote_literal(actor ->> 'user'),
            quote_literal(transform_presence.collection || '/' || transform_presence.id)
            USING ERRCODE = 'PC020';
    END IF;
    SELECT d.type INTO doc_type FROM @extschema@.documents d
     WHERE d.collection = transform_presence.collection AND d.id = transform_presence.id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % does not exist', quote_literal(transform_presence.collection || '/' || transform_presence.id)
            USING ERRCODE = 'PC010';
    END IF;
    FOR o IN SELECT x.version, x.op FROM @extschema@.ops x
              WHERE x.collection = transform_presence.collection AND x.id = transform_presence.id
                AND x.version >= from_version ORDER BY x.version
    LOOP
        IF p IS NOT NULL AND jsonb_typeof(p) = 'object' AND (o.op ? 'create' OR o.op ? 'del') THEN
            p := NULL;  -- the document was created or deleted: the selection means nothing any more
        ELSIF p IS NOT NULL AND jsonb_typeof(p) = 'object' AND jsonb_typeof(o.op) = 'array'
              AND jsonb_typeof(p -> 'index') = 'number' THEN
            start_pos := (p ->> 'index')::bigint;
            end_pos := start_pos + coalesce((p ->> 'length')::bigint, 0);
            start_pos := @extschema@.transform_position(doc_type, start_pos, o.op);
            end_pos := @extschema@.transform_position(doc_type, end_pos, o.op);
            p := p || jsonb_build_object('index', start_pos, 'length', end_pos - start_pos);
        END IF;
        v := o.version + 1;
    END LOOP;
    RETURN QUERY SELECT v, p;
END
$fn$;
COMMENT ON FUNCTION @extschema@.transform_presence(jsonb, text, text, bigint, jsonb) IS
'For the bridge, acting for user actor {"user", "org"} (who needs the viewer right). Moves a text-unicode presence value {"index", "length", ...} made at from_version through the ops committed since; '
'returns the current version and the moved value (NULL when the document was deleted or re-created).';

CREATE FUNCTION @extschema@.bridge_snapshot_at(actor jsonb, collection text, id text, version bigint)
RETURNS TABLE (version bigint, type text, data jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_bridge_snapshot_at';
COMMENT ON FUNCTION @extschema@.bridge_snapshot_at(jsonb, text, text, bigint) IS
'For the bridge: collab.snapshot_at() for the acting user actor {"user", "org"}, who needs the viewer right (PC020).';

CREATE FUNCTION @extschema@.bridge_snapshot_at_time(actor jsonb, collection text, id text, at timestamptz)
RETURNS TABLE (version bigint, type text, data jsonb)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_bridge_snapshot_at_time';
COMMENT ON FUNCTION @extschema@.bridge_snapshot_at_time(jsonb, text, text, timestamptz) IS
'For the bridge: collab.snapshot_at_time() for the acting user actor {"user", "org"}, who needs the viewer right.';

CREATE FUNCTION @extschema@.check_access_many(requests jsonb)
RETURNS TABLE (i integer, rank integer)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS 'MODULE_PATHNAME', 'collab_check_access_many';
COMMENT ON FUNCTION @extschema@.check_access_many(jsonb) IS
'For the bridge: the right of each {"a", "c", "d"} (a: the acting user {"user", "org"}): 0 none, 1 viewer, 2 editor, '
'3 owner. The bridge re-checks open subscriptions with it when rights change.';

-- A secret for signing the client ids that bridges issue, so that any bridge recognises an id issued by another.
CREATE TABLE @extschema@.bridge_secrets (
    name       text PRIMARY KEY,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
REVOKE ALL ON @extschema@.bridge_secrets FROM PUBLIC;
-- 244 random bits from two v4 UUIDs, hashed.
INSERT INTO @extschema@.bridge_secrets (name, secret)
VALUES ('client_id', pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
    pg_catalog.gen_random_uuid()::text OPERATOR(pg_catalog.||) pg_catalog.gen_random_uuid()::text, 'UTF8')), 'hex'));

CREATE FUNCTION @extschema@.bridge_client_id_secret() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$ SELECT s.secret FROM @extschema@.bridge_secrets s WHERE s.name = 'client_id' $fn$;
COMMENT ON FUNCTION @extschema@.bridge_client_id_secret() IS
'The key with which bridges sign the client ids they issue (HMAC-SHA256).';

-- ---------------------------------------------------------------------------------------------------------------
-- Pure type functions (no table access)

CREATE FUNCTION @extschema@.apply(type text, data jsonb, op jsonb) RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_apply';
COMMENT ON FUNCTION @extschema@.apply(text, jsonb, jsonb) IS 'Applies op to data (strictly: ops that do not fit fail).';

CREATE FUNCTION @extschema@.transform(type text, op jsonb, other jsonb, side text) RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_transform';
COMMENT ON FUNCTION @extschema@.transform(text, jsonb, jsonb, text) IS
'Transforms op so that it applies after other; side (left or right) breaks ties, left goes first.';

CREATE FUNCTION @extschema@.compose(type text, a jsonb, b jsonb) RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_compose';
COMMENT ON FUNCTION @extschema@.compose(text, jsonb, jsonb) IS 'One op equivalent to applying a, then b.';

CREATE FUNCTION @extschema@.normalize(type text, op jsonb) RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_normalize';
COMMENT ON FUNCTION @extschema@.normalize(text, jsonb) IS
'The canonical form of an op: empty components dropped, neighbours merged, no trailing skip.';

CREATE FUNCTION @extschema@.invert(type text, op jsonb) RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_invert';
COMMENT ON FUNCTION @extschema@.invert(text, jsonb) IS
'The op that undoes op (text-unicode: its deletes must carry the deleted text).';

CREATE FUNCTION @extschema@.transform_position(type text, pos bigint, op jsonb) RETURNS bigint
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_transform_position';
COMMENT ON FUNCTION @extschema@.transform_position(text, bigint, jsonb) IS
'Where a cursor at pos ends up after op is applied.';

CREATE FUNCTION @extschema@.type_uri(type text) RETURNS text
LANGUAGE c IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_type_uri';
COMMENT ON FUNCTION @extschema@.type_uri(text) IS 'The URI of a type given by name or URI.';

-- Error codes: every SQLSTATE pg_collab raises, and the ShareDB error code the bridge sends for it.
CREATE FUNCTION @extschema@.error_codes()
RETURNS TABLE (sqlstate text, name text, sharedb_code text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $fn$
    VALUES
    ('PC001', 'op_badly_formed',          'ERR_OT_OP_BADLY_FORMED',
     'The op is not a valid op of its type: wrong shape, unknown component, non-integer or negative count, empty or adjacent components, trailing skip.'),
    ('PC002', 'op_not_applicable',        'ERR_OT_OP_NOT_APPLIED',
     'A valid op that does not fit the document: a skip or delete past the end, or deleted text that does not match.'),
    ('PC003', 'invalid_text',             'ERR_OT_OP_BADLY_FORMED',
     'Text that is not valid UTF-8, contains a lone surrogate or a NUL character.'),
    ('PC004', 'data_badly_formed',        'ERR_OT_OP_BADLY_FORMED',
     'Document data of the wrong shape for its type (text-unicode data must be a JSON string).'),
    ('PC005', 'type_not_recognized',      'ERR_DOC_TYPE_NOT_RECOGNIZED',
     'An unknown OT type name or URI.'),
    ('PC006', 'invalid_argument',         'ERR_MESSAGE_BADLY_FORMED',
     'An argument outside its domain: NULL, empty or over-long collection or id, negative version, side not left/right, src without seq.'),
    ('PC007', 'operation_not_supported',  'ERR_OT_OP_BADLY_FORMED',
     'The type cannot do this with this op (for example inverting a delete that carries no text).'),
    ('PC010', 'document_does_not_exist',  'ERR_DOC_DOES_NOT_EXIST',
     'No such document (never created, or already deleted for delete_doc).'),
    ('PC011', 'document_already_created', 'ERR_DOC_ALREADY_CREATED',
     'A create for a document that exists, or a create concurrent with another create.'),
    ('PC012', 'document_was_deleted',     'ERR_DOC_WAS_DELETED',
     'An edit of a document that is deleted, or that was deleted after the op''s base version.'),
    ('PC013', 'version_newer_than_document', 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT',
     'A base version (or requested version) beyond the document''s current version.'),
    ('PC014', 'ops_missing',              'ERR_SUBMIT_TRANSFORM_OPS_NOT_FOUND',
     'The op-log is missing ops needed to transform or rebuild the document.'),
    ('PC020', 'read_denied',              'ERR_SNAPSHOT_READS_REJECTED',
     'The acting user may not read this document (fetch, subscribe, history, presence): no viewer, editor or owner right applies, or the document belongs to another organization.'),
    ('PC021', 'write_denied',             'ERR_OP_SUBMIT_REJECTED',
     'The acting user may not change this document (submit, create, delete): no editor or owner right applies, or the document belongs to another organization.'),
    ('PC022', 'client_id_not_yours',      'ERR_OP_SUBMIT_REJECTED',
     'The op carries a client id (src) that was issued to another user, or not issued by a bridge at all.'),
    ('PC023', 'actor_required',           'ERR_MESSAGE_BADLY_FORMED',
     'A bridge request without the acting user: bridge functions always act for an authenticated user.'),
    ('PC030', 'login_ticket_invalid',     'ERR_AUTH',
     'The login ticket is unknown, already used or expired: create a new one with collab.create_login_ticket().'),
    ('PC031', 'refresh_token_invalid',    'ERR_AUTH',
     'The refresh token is unknown, expired, or its session was revoked: log in again.'),
    ('PC032', 'refresh_token_reused',     'ERR_AUTH',
     'A refresh token was used again after it had been rotated: the whole session (token family) is now revoked. Log in again.'),
    ('PC033', 'dev_login_disabled',       'ERR_AUTH',
     'The development login is off: it needs pg_collab.dev_login = on (make run sets it for its private database only).')
$fn$;
COMMENT ON FUNCTION @extschema@.error_codes() IS 'Every SQLSTATE pg_collab raises, with its ShareDB error code.';

