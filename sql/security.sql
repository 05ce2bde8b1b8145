-- Security: no PUBLIC access, the bridge role executes the API only, every function pins its search_path.
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
SELECT r.rolname,
       has_table_privilege(r.rolname, 'collab.ops', 'SELECT') AS read_ops,
       has_table_privilege(r.rolname, 'collab.ops', 'INSERT') AS insert_ops,
       has_table_privilege(r.rolname, 'collab.documents', 'UPDATE') AS update_documents,
       has_function_privilege(r.rolname, 'collab.submit(text,text,bigint,jsonb,text,bigint)', 'EXECUTE') AS submit
  FROM pg_roles r WHERE r.rolname IN ('collab_app', 'collab_bridge') ORDER BY 1;

-- A login role of the bridge can use the API but cannot touch the tables.
DROP ROLE IF EXISTS regress_collab_bridge_user;
DROP ROLE IF EXISTS regress_collab_nobody;
CREATE ROLE regress_collab_bridge_user;
GRANT collab_bridge TO regress_collab_bridge_user;
CREATE ROLE regress_collab_nobody;
SET ROLE regress_collab_bridge_user;
SELECT collab.create_doc('sec', 'doc', 'text-unicode', '"secret"');
SELECT * FROM collab.submit('sec', 'doc', 1, '[6, "!"]');
SELECT data FROM collab.fetch('sec', 'doc');
SELECT version, op FROM collab.ops_since('sec', 'doc', 0);
SELECT count(*) FROM collab.ops;
SELECT count(*) FROM collab.documents;
INSERT INTO collab.ops (collection, id, version, op) VALUES ('sec', 'doc', 2, '["forged"]');
UPDATE collab.documents SET version = 0;
RESET ROLE;
-- A role without the grant cannot even call the API.
SET ROLE regress_collab_nobody;
SELECT collab.fetch('sec', 'doc');
SELECT collab.submit('sec', 'doc', 2, '["x"]');
RESET ROLE;
SELECT data, version FROM collab.fetch('sec', 'doc');

DROP ROLE regress_collab_bridge_user;
DROP ROLE regress_collab_nobody;
