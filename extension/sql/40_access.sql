-- ---------------------------------------------------------------------------------------------------------------
-- Access control. Everything is denied by default. Rights are granted to a principal, 'user:<sub>' or 'org:<org>',
-- on one document (doc_id) or on a whole collection (doc_id NULL). Roles, each including the ones before it:
-- viewer (fetch, subscribe, history, presence), editor (also submit, create, delete), owner (also grant, through
-- collab.grant_as()). A document belongs to the organization of the user who first created it (or to the org given
-- to collab.create_doc()); a user never gets access to a document of another organization, whatever is granted.
-- The bridge's functions check every request for the user it acts for; the application (collab_app) acts as the
-- system.

CREATE TABLE @extschema@.acl (
    collection text        COLLATE "C" NOT NULL,
    doc_id     text        COLLATE "C",          -- NULL: every document of the collection
    principal  text        COLLATE "C" NOT NULL, -- 'user:<sub>' or 'org:<org>'
    role       text        NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    UNIQUE NULLS NOT DISTINCT (collection, doc_id, principal)
);
CREATE INDEX acl_principal ON @extschema@.acl (collection, principal);

-- Bumped by every grant and revoke (committed with them): bridges' backends cache rights until it changes.
CREATE TABLE @extschema@.acl_version (version bigint NOT NULL);
INSERT INTO @extschema@.acl_version VALUES (0);
REVOKE ALL ON @extschema@.acl_version FROM PUBLIC;
REVOKE ALL ON @extschema@.acl FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.acl', '');
GRANT SELECT ON @extschema@.acl TO collab_app;
COMMENT ON TABLE @extschema@.acl IS
'Rights on documents: (collection, doc_id or NULL for the whole collection, principal user:<sub> or org:<org>, role '
'viewer/editor/owner). Change it with collab.grant() and collab.revoke().';

-- The rule (also compiled into the extension's submit path; keep the two in step): no access to a document of
-- another organization; otherwise the highest role granted to the user or to the user's organization, on the
-- document or on its collection.
CREATE FUNCTION @extschema@.access_rank(collection text, id text, user_id text, org text)
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT CASE
        WHEN EXISTS (SELECT FROM @extschema@.documents d
                      WHERE d.collection = $1 AND d.id = $2 AND d.org IS DISTINCT FROM $4) THEN 0
        ELSE coalesce((SELECT max(CASE a.role WHEN 'owner' THEN 3 WHEN 'editor' THEN 2 WHEN 'viewer' THEN 1 ELSE 0 END)
                         FROM @extschema@.acl a
                        WHERE a.collection = $1 AND (a.doc_id = $2 OR a.doc_id IS NULL)
                          AND (a.principal = 'user:' || $3 OR a.principal = 'org:' || $4)), 0)
    END
$fn$;
COMMENT ON FUNCTION @extschema@.access_rank(text, text, text, text) IS
'The right of user_id (of organization org, or NULL) on a document: 0 none, 1 viewer, 2 editor, 3 owner.';

CREATE FUNCTION @extschema@.check_principal(principal text, role text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF principal IS NULL OR principal !~ '^(user|org):.+$' OR length(principal) > 300 THEN
        RAISE EXCEPTION 'principal % is not ''user:<id>'' or ''org:<id>''', coalesce(quote_literal(principal), 'NULL')
            USING ERRCODE = 'PC006', HINT = 'Write the user''s JWT subject as user:<sub>, an organization as org:<org>.';
    END IF;
    IF role IS NOT NULL AND role NOT IN ('viewer', 'editor', 'owner') THEN
        RAISE EXCEPTION 'role % is not viewer, editor or owner', quote_literal(role) USING ERRCODE = 'PC006';
    END IF;
END
$fn$;

CREATE FUNCTION @extschema@.grant(collection text, doc_id text, principal text, role text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL OR $1 = '' OR $4 IS NULL THEN
        RAISE EXCEPTION 'collection and role are required (doc_id NULL means the whole collection)'
            USING ERRCODE = 'PC006';
    END IF;
    PERFORM @extschema@.check_principal($3, $4);
    INSERT INTO @extschema@.acl AS a (collection, doc_id, principal, role)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (collection, doc_id, principal) DO UPDATE SET role = EXCLUDED.role, granted_at = EXCLUDED.granted_at;
    UPDATE @extschema@.acl_version SET version = version + 1;
    PERFORM pg_notify('collab_auth', 'acl');
END
$fn$;
COMMENT ON FUNCTION @extschema@.grant(text, text, text, text) IS
'Gives principal (user:<sub> or org:<org>) the role viewer, editor or owner on a document, or on the whole '
'collection when doc_id is NULL (replacing an earlier grant to the same principal there). Open bridge sockets are '
're-checked at once.';

CREATE FUNCTION @extschema@.revoke(collection text, doc_id text, principal text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    found_row boolean;
BEGIN
    PERFORM @extschema@.check_principal($3, NULL);
    DELETE FROM @extschema@.acl a WHERE a.collection = $1 AND a.doc_id IS NOT DISTINCT FROM $2 AND a.principal = $3;
    found_row := FOUND;
    IF found_row THEN
        UPDATE @extschema@.acl_version SET version = version + 1;
        PERFORM pg_notify('collab_auth', 'acl');
    END IF;
    RETURN found_row;
END
$fn$;
COMMENT ON FUNCTION @extschema@.revoke(text, text, text) IS
'Removes the grant to principal on a document (or on the collection when doc_id is NULL); returns whether there was '
'one. Subscriptions that lose their right are ended at once on every bridge.';

CREATE FUNCTION @extschema@.grant_as(acting_user text, acting_org text, collection text, doc_id text,
                                     principal text, role text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_variable
BEGIN
    -- An owner of the document (or of the collection, for a collection-wide grant) may share it.
    IF acting_user IS NULL OR (doc_id IS NULL AND NOT EXISTS (
           SELECT FROM @extschema@.acl a
            WHERE a.collection = grant_as.collection AND a.doc_id IS NULL AND a.role = 'owner'
              AND (a.principal = 'user:' || acting_user OR a.principal = 'org:' || acting_org)))
       OR (doc_id IS NOT NULL
           AND @extschema@.access_rank(grant_as.collection, grant_as.doc_id, acting_user, acting_org) < 3) THEN
        RAISE EXCEPTION 'user % is not an owner of %', coalesce(quote_literal(acting_user), 'NULL'),
            quote_literal(grant_as.collection || coalesce('/' || grant_as.doc_id, ' (the whole collection)'))
            USING ERRCODE = 'PC021', HINT = 'Only an owner can grant rights; the application can with collab.grant().';
    END IF;
    PERFORM @extschema@.grant(collection, doc_id, principal, role);
END
$fn$;
COMMENT ON FUNCTION @extschema@.grant_as(text, text, text, text, text, text) IS
'collab.grant() on behalf of a user: allowed only if that user is an owner of the document (or of the collection).';

CREATE FUNCTION @extschema@.issue_client_id(user_id text) RETURNS text
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_issue_client_id';
COMMENT ON FUNCTION @extschema@.issue_client_id(text) IS
'A client id (ShareDB src) bound to user_id, as a bridge issues it in the handshake. Ops submitted through the bridge '
'functions for a user must carry an id issued to that user (PC022 otherwise). For tools and tests.';

REVOKE ALL ON FUNCTION @extschema@.issue_client_id(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_client_id(text) TO collab_app;

REVOKE ALL ON FUNCTION @extschema@.access_rank(text, text, text, text), @extschema@.check_principal(text, text),
    @extschema@.grant(text, text, text, text), @extschema@.revoke(text, text, text),
    @extschema@.grant_as(text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.grant(text, text, text, text), @extschema@.revoke(text, text, text),
    @extschema@.grant_as(text, text, text, text, text, text), @extschema@.access_rank(text, text, text, text)
TO collab_app;

CREATE FUNCTION @extschema@.list_documents(actor jsonb, collection text, max_rows integer DEFAULT 200)
RETURNS TABLE (id text, type text, version bigint, updated_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    acting_user text := actor->>'user';
    acting_org text := actor->>'org';
BEGIN
    IF actor IS NULL THEN
        RAISE EXCEPTION 'list_documents needs the acting user {"user", "org"}' USING ERRCODE = 'PC023';
    END IF;
    IF jsonb_typeof(actor) IS DISTINCT FROM 'object' OR jsonb_typeof(actor->'user') IS DISTINCT FROM 'string'
       OR acting_user = '' OR NOT (actor->'org' IS NULL OR jsonb_typeof(actor->'org') IN ('string', 'null'))
       OR acting_org = '' THEN
        RAISE EXCEPTION 'the acting user must be {"user": non-empty string, "org": non-empty string or null}, not %',
            actor USING ERRCODE = 'PC006';
    END IF;
    IF collection IS NULL OR collection = '' OR max_rows IS NULL OR max_rows < 1 OR max_rows > 1000 THEN
        RAISE EXCEPTION 'collection must be a non-empty string and max_rows between 1 and 1000'
            USING ERRCODE = 'PC006';
    END IF;
    RETURN QUERY
        SELECT d.id::text, d.type, d.version, d.updated_at
          FROM @extschema@.documents d
         WHERE d.collection = list_documents.collection AND d.type IS NOT NULL
           AND @extschema@.access_rank(d.collection, d.id, acting_user, acting_org) >= 1
         ORDER BY d.updated_at DESC, d.id
         LIMIT max_rows;
END
$fn$;
COMMENT ON FUNCTION @extschema@.list_documents(jsonb, text, integer) IS
'The documents of a collection that the acting user {"user", "org"} may read (viewer right or more), most recently '
'changed first: id, type URI, version, time of the last change. At most max_rows (1..1000) rows.';
REVOKE ALL ON FUNCTION @extschema@.list_documents(jsonb, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.list_documents(jsonb, text, integer) TO collab_app, collab_bridge;
