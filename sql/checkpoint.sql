-- Checkpoints: the snapshot is written every pg_collab.checkpoint_interval ops (and at create/delete); the current
-- document and history are rebuilt from the nearest checkpoint plus the ops after it.
SET client_min_messages = warning;
SET pg_collab.checkpoint_interval = 3;
SELECT collab.create_doc('cp', 'doc', 'text-unicode', '"0"');
SELECT v, (SELECT version FROM collab.submit('cp', 'doc', v, format('[%s, "%s"]', v, v)::jsonb))
  FROM generate_series(1, 8) AS v;
SELECT * FROM collab.fetch('cp', 'doc');
SELECT version, data FROM collab.snapshots WHERE collection = 'cp' AND id = 'doc' ORDER BY version;
SELECT version, checkpoint_version, tail_ops FROM collab.documents WHERE collection = 'cp' AND id = 'doc';
-- Every historical version equals a replay of the op-log from the start (invariant 1).
WITH RECURSIVE replay(version, data) AS (
    SELECT 1::bigint, '"0"'::jsonb
    UNION ALL
    SELECT r.version + 1, collab.apply('text-unicode', r.data, o.op)
      FROM replay r JOIN collab.ops o ON o.collection = 'cp' AND o.id = 'doc' AND o.version = r.version
)
SELECT r.version, r.data, s.data AS snapshot_at, r.data = s.data AS equal
  FROM replay r CROSS JOIN LATERAL collab.snapshot_at('cp', 'doc', r.version) s
 ORDER BY r.version;

-- A checkpoint is also written once the ops since the last one outgrow the snapshot.
RESET pg_collab.checkpoint_interval;
SET pg_collab.checkpoint_min_size = 1;  -- kB
SELECT collab.create_doc('cp', 'big', 'text-unicode', to_jsonb(repeat('x', 1500)));
SELECT count(*) FROM (SELECT collab.submit('cp', 'big', NULL, to_jsonb(ARRAY[repeat('y', 100)])) FROM generate_series(1, 30)) s;
SELECT version, length(data #>> '{}') FROM collab.snapshots WHERE collection = 'cp' AND id = 'big' ORDER BY version;
SELECT (SELECT length(data #>> '{}') FROM collab.fetch('cp', 'big')) AS current_length;

-- Re-creating the extension in the same session: cached documents of the old one are not reused.
DROP EXTENSION pg_collab;
CREATE EXTENSION pg_collab;
SELECT collab.create_doc('cp', 'doc', 'text-unicode', '"fresh"');
SELECT * FROM collab.fetch('cp', 'doc');
SELECT * FROM collab.submit('cp', 'doc', 1, '[5, "!"]');
SELECT * FROM collab.fetch('cp', 'doc');
