-- ---------------------------------------------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC. The application (collab_app) acts as the system: the document API, access control,
-- login tickets and revocation. The bridge (collab_bridge) gets only the functions that act for an authenticated user
-- (each request names that user and is checked against the access rules) and the token service's endpoints; it has
-- no table rights. Functions defined in the other parts grant their own EXECUTE rights next to their definitions;
-- this part covers the document functions of 10_documents.sql.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    @extschema@.create_doc(text, text, text, jsonb, text),
    @extschema@.delete_doc(text, text),
    @extschema@.submit(text, text, bigint, jsonb, text, bigint),
    @extschema@.fetch(text, text),
    @extschema@.snapshot_at(text, text, bigint),
    @extschema@.snapshot_at_time(text, text, timestamptz),
    @extschema@.ops_since(text, text, bigint, bigint)
TO collab_app;

GRANT EXECUTE ON FUNCTION
    @extschema@.apply(text, jsonb, jsonb),
    @extschema@.transform(text, jsonb, jsonb, text),
    @extschema@.compose(text, jsonb, jsonb),
    @extschema@.normalize(text, jsonb),
    @extschema@.invert(text, jsonb),
    @extschema@.transform_position(text, bigint, jsonb),
    @extschema@.type_uri(text),
    @extschema@.error_codes()
TO collab_app, collab_bridge;

GRANT EXECUTE ON FUNCTION
    @extschema@.submit_many(jsonb),
    @extschema@.submit_many(text),
    @extschema@.fetch_many(jsonb),
    @extschema@.ops_many(jsonb, integer),
    @extschema@.transform_presence(jsonb, text, text, bigint, jsonb),
    @extschema@.bridge_snapshot_at(jsonb, text, text, bigint),
    @extschema@.bridge_snapshot_at_time(jsonb, text, text, timestamptz),
    @extschema@.check_access_many(jsonb),
    @extschema@.bridge_client_id_secret()
TO collab_bridge;
