-- Security: no PUBLIC access; the application role acts as the system; the bridge role only executes the functions
-- that act for an authenticated user, cannot read tables, and cannot act as the system or as another user.
SET client_min_messages = warning;
SELECT extrelocatable, extnamespace::regnamespace FROM pg_extension WHERE extname = 'pg_collab';

-- Every function pins search_path to pg_catalog, pg_temp.
SELECT p.oid::regprocedure AS function_without_pinned_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'collab'::regnamespace
   AND (p.proconfig IS NULL OR NOT ('search_path=pg_catalog, pg_temp' = ANY (p.proconfig)));

-- PUBLIC has no rights on tables or functions.
SELECT c.relname, has_table_privilege('public', c.oid, 'SELECT') AS public_select
  FROM pg_class c WHERE c.relnamespace = 'collab'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'ops\_p%'
 ORDER BY 1;
SELECT count(*) AS functions_public_can_execute
  FROM pg_proc p WHERE p.pronamespace = 'collab'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');

-- The two roles.
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('collab_app', 'collab_bridge') ORDER BY 1;
-- The bridge reads no table at all.
SELECT c.relname AS table_the_bridge_can_read
  FROM pg_class c WHERE c.relnamespace = 'collab'::regnamespace AND c.relkind IN ('r', 'p')
   AND has_table_privilege('collab_bridge', c.oid, 'SELECT');
-- Which functions each role may execute.
SELECT p.proname,
       has_function_privilege('collab_app', p.oid, 'EXECUTE') AS app,
       has_function_privilege('collab_bridge', p.oid, 'EXECUTE') AS bridge
  FROM pg_proc p WHERE p.pronamespace = 'collab'::regnamespace
   AND (has_function_privilege('collab_app', p.oid, 'EXECUTE') OR has_function_privilege('collab_bridge', p.oid, 'EXECUTE'))
 ORDER BY 1, 2, 3;

DROP ROLE IF EXISTS regress_collab_bridge_user;
DROP ROLE IF EXISTS regress_collab_app_user;
DROP ROLE IF EXISTS regress_collab_nobody;
CREATE ROLE regress_collab_bridge_user;
GRANT collab_bridge TO regress_collab_bridge_user;
CREATE ROLE regress_collab_app_user;
GRANT collab_app TO regress_collab_app_user;
CREATE ROLE regress_collab_nobody;

-- The application acts as the system: documents, rights, client ids.
SET ROLE regress_collab_app_user;
SELECT collab.create_doc('sec', 'doc', 'text-unicode', '"secret"', 'acme');
SELECT * FROM collab.submit('sec', 'doc', 1, '[6, "!"]');
SELECT collab.grant('sec', 'doc', 'user:alice', 'editor');
SELECT collab.issue_client_id('alice') AS alice_src \gset
RESET ROLE;

-- The bridge cannot act as the system, read tables, become the application or switch on the development login.
SET ROLE regress_collab_bridge_user;
SELECT collab.create_doc('sec', 'doc2', 'text-unicode', '"x"');
SELECT * FROM collab.submit('sec', 'doc', 2, '["x"]');
SELECT data FROM collab.fetch('sec', 'doc');
SELECT version, op FROM collab.ops_since('sec', 'doc', 0);
SELECT collab.grant('sec', NULL, 'user:mallory', 'owner');
SELECT collab.issue_client_id('alice');
SELECT count(*) FROM collab.ops;
SELECT count(*) FROM collab.documents;
SELECT count(*) FROM collab.acl;
SELECT count(*) FROM collab.bridge_secrets;
INSERT INTO collab.ops (collection, id, version, op) VALUES ('sec', 'doc', 2, '["forged"]');
UPDATE collab.documents SET version = 0;
SET pg_collab.dev_login = on;
SELECT pg_has_role('regress_collab_bridge_user', 'collab_app', 'MEMBER') AS bridge_can_become_app;
-- Every request of the bridge names its user, whose rights are checked: no user, no access.
SELECT error_code FROM collab.submit_many('[{"c": "sec", "d": "doc", "v": 2, "op": ["x"]}]');
SELECT error_code FROM collab.fetch_many('[{"a": {"user": "mallory", "org": "acme"}, "c": "sec", "d": "doc"}]');
SELECT error_code FROM collab.submit_many('[{"a": {"user": "mallory", "org": "acme"}, "c": "sec", "d": "doc", "v": 2, "op": ["x"]}]');
-- Alice may edit, but only with a client id issued to her: a forged or borrowed (src, seq) could otherwise make the
-- server drop someone else's edit as a duplicate.
SELECT error_code, error_message
  FROM collab.submit_many(jsonb_build_array(jsonb_build_object('a', '{"user": "bob", "org": "acme"}'::jsonb,
       'c', 'sec', 'd', 'doc', 'v', 2, 'op', '["x"]'::jsonb, 'src', :'alice_src'::text, 'seq', 1)));
SELECT error_code, error_message
  FROM collab.submit_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc", "v": 2, "op": ["x"], "src": "0123456789abcdef0123456789abcdef0123456789abcdef01234567", "seq": 1}]');
SELECT version, error_code
  FROM collab.submit_many(jsonb_build_array(jsonb_build_object('a', '{"user": "alice", "org": "acme"}'::jsonb,
       'c', 'sec', 'd', 'doc', 'v', 2, 'op', '["x"]'::jsonb, 'src', :'alice_src'::text, 'seq', 1)));
RESET ROLE;
-- A role without either grant cannot even call the API.
SET ROLE regress_collab_nobody;
SELECT collab.fetch('sec', 'doc');
SELECT * FROM collab.fetch_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc"}]');
RESET ROLE;
SELECT data, version FROM collab.fetch('sec', 'doc');
SELECT version, op, src = :'alice_src' AS by_alice, user_id FROM collab.ops WHERE collection = 'sec' ORDER BY version;

-- Rights are cached per backend between grants: a revoke takes effect on the next request all the same.
SET ROLE regress_collab_bridge_user;
SELECT version, error_code FROM collab.fetch_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc"}]');
RESET ROLE;
SELECT collab.revoke('sec', 'doc', 'user:alice');
SET ROLE regress_collab_bridge_user;
SELECT version, error_code FROM collab.fetch_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc"}]');
RESET ROLE;
SELECT collab.grant('sec', NULL, 'org:acme', 'viewer');
SET ROLE regress_collab_bridge_user;
SELECT version, error_code FROM collab.fetch_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc"}]');
SELECT error_code FROM collab.submit_many('[{"a": {"user": "alice", "org": "acme"}, "c": "sec", "d": "doc", "v": 3, "op": ["y"]}]');
RESET ROLE;

-- The document list (the web page's GET /api/documents) shows only what the acting user may read.
SELECT collab.create_doc('sec', 'other-org', 'text-unicode', '"x"', 'globex');
SELECT collab.create_doc('sec', 'private', 'text-unicode', '"x"', 'acme');
SELECT collab.grant('sec', 'private', 'user:carol', 'viewer');
SELECT collab.revoke('sec', NULL, 'org:acme');
SELECT collab.grant('sec', NULL, 'user:alice', 'viewer'); -- the whole collection, but never another organization's
SET ROLE regress_collab_bridge_user;
SELECT id, type, version FROM collab.list_documents('{"user": "alice", "org": "acme"}', 'sec');
SELECT id FROM collab.list_documents('{"user": "carol", "org": "acme"}', 'sec');
SELECT id FROM collab.list_documents('{"user": "carol", "org": "globex"}', 'sec');
SELECT id FROM collab.list_documents('{"user": "alice", "org": "acme"}', 'sec', 1);
SELECT id FROM collab.list_documents(NULL, 'sec');
SELECT id FROM collab.list_documents('{"user": ""}', 'sec');
SELECT id FROM collab.list_documents('{"user": "alice", "org": "acme"}', 'sec', 0);
RESET ROLE;

DROP ROLE regress_collab_bridge_user;
DROP ROLE regress_collab_app_user;
DROP ROLE regress_collab_nobody;
