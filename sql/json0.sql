-- json0 documents: the pure functions (results equal npm ot-json0 1.1.0; the differential test checks this on random
-- input), documents whose data is real jsonb that SQL can query and index, and bad ops that change nothing.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- The document as the op-log and the queryable column see it.
CREATE FUNCTION pg_temp.doc(doc_id text) RETURNS TABLE (version bigint, data jsonb, data_version bigint, same boolean)
LANGUAGE sql AS $$
    SELECT f.version, f.data, d.data_version, d.data = f.data
      FROM collab.fetch('tasks', doc_id) f, collab.documents d WHERE d.collection = 'tasks' AND d.id = doc_id
$$;

SELECT collab.type_uri('json0'), collab.type_uri('http://sharejs.org/types/JSONv0');

-- apply: every component kind.
SELECT collab.apply('json0', '{"n": 1}', '[{"p": ["n"], "na": 41}]');
SELECT collab.apply('json0', '{"a": 1}', '[{"p": ["b"], "oi": [1, 2]}]');
SELECT collab.apply('json0', '{"a": 1, "b": 2}', '[{"p": ["a"], "od": 1}]');
SELECT collab.apply('json0', '{"a": 1}', '[{"p": ["a"], "od": 1, "oi": {"x": null}}]');
SELECT collab.apply('json0', '["a", "c"]', '[{"p": [1], "li": "b"}]');
SELECT collab.apply('json0', '["a", "b", "c"]', '[{"p": [1], "ld": "b"}]');
SELECT collab.apply('json0', '["a", "b", "c"]', '[{"p": [1], "ld": "b", "li": "B"}]');
SELECT collab.apply('json0', '["a", "b", "c", "d"]', '[{"p": [0], "lm": 2}]');
SELECT collab.apply('json0', '{"t": "hello"}', '[{"p": ["t", 5], "si": " world"}, {"p": ["t", 0], "sd": "h"}]');
-- si / sd offsets count UTF-16 code units, as in JavaScript: the emoji is two.
SELECT collab.apply('json0', '{"t": "a😀b"}', '[{"p": ["t", 3], "si": "!"}]');
-- Subtype ops: text0 and text-unicode (code points) on a string field.
SELECT collab.apply('json0', '{"t": "abc"}', '[{"p": ["t"], "t": "text0", "o": [{"p": 1, "i": "XY"}]}]');
SELECT collab.apply('json0', '{"t": "a😀b"}', '[{"p": ["t"], "t": "text-unicode", "o": [2, "é"]}]');
-- Numbers are JavaScript numbers (doubles), printed as the shortest text that reads back the same; integers beyond
-- 64 bits are read as doubles.
SELECT collab.apply('json0', '{"price": 0.1, "big": 12345678901234567890}', '[{"p": ["price"], "na": 0.2}]');
SELECT collab.apply('json0', '{"n": 1}', '[{"p": ["n"], "na": 0.5}, {"p": ["m"], "oi": 1e-7}]');
-- The root can be replaced, and a document can start as null.
SELECT collab.apply('json0', NULL, '[{"p": [], "oi": {"fresh": true}}]');

-- transform: both sides of ShareDB's tie-breaks.
SELECT collab.transform('json0', '[{"p": [0], "li": "x"}]', '[{"p": [0], "li": "y"}]', 'left') AS left,
       collab.transform('json0', '[{"p": [0], "li": "x"}]', '[{"p": [0], "li": "y"}]', 'right') AS right;
SELECT collab.transform('json0', '[{"p": ["k"], "oi": 1}]', '[{"p": ["k"], "oi": 2}]', 'left') AS left,
       collab.transform('json0', '[{"p": ["k"], "oi": 1}]', '[{"p": ["k"], "oi": 2}]', 'right') AS right;
SELECT collab.transform('json0', '[{"p": [3, "title", 0], "si": "A"}]', '[{"p": [1], "ld": 0}]', 'left');
SELECT collab.transform('json0', '[{"p": [2], "lm": 0}]', '[{"p": [0], "li": "new"}]', 'left');
SELECT collab.transform('json0', '[{"p": ["a", "x"], "oi": 1}]', '[{"p": ["a"], "od": {}}]', 'left');
SELECT collab.transform('json0', '[{"p": ["t", 2], "si": "Q"}]', '[{"p": ["t", 0], "sd": "abc"}]', 'left');

-- compose, invert, normalize.
SELECT collab.compose('json0', '[{"p": ["t", 0], "si": "ab"}]', '[{"p": ["t", 2], "si": "c"}]');
SELECT collab.compose('json0', '[{"p": ["n"], "na": 1}]', '[{"p": ["n"], "na": 2}]');
SELECT collab.invert('json0', '[{"p": ["a"], "od": 1, "oi": 2}, {"p": ["l", 0], "lm": 3}]');
SELECT collab.normalize('json0', '{"p": ["a"], "oi": 1}');
SELECT collab.normalize('json0', '[{"p": ["t", 0], "si": "a"}, {"p": ["t", 1], "si": "b"}]');
SELECT collab.apply('json0', collab.apply('json0', '{"a": [1, 2], "s": "xyz"}', '[{"p": ["a", 0], "ld": 1}, {"p": ["s", 1], "sd": "y"}]'),
                    collab.invert('json0', '[{"p": ["a", 0], "ld": 1}, {"p": ["s", 1], "sd": "y"}]'));

-- TP1 on one example: both orders converge.
SELECT collab.apply('json0', collab.apply('json0', '{"l": ["a", "b", "c"]}', '[{"p": ["l", 0], "lm": 2}]'),
                    collab.transform('json0', '[{"p": ["l", 1], "ld": "b"}]', '[{"p": ["l", 0], "lm": 2}]', 'right')) AS via_a,
       collab.apply('json0', collab.apply('json0', '{"l": ["a", "b", "c"]}', '[{"p": ["l", 1], "ld": "b"}]'),
                    collab.transform('json0', '[{"p": ["l", 0], "lm": 2}]', '[{"p": ["l", 1], "ld": "b"}]', 'left')) AS via_b;

-- Bad ops: a clear error each (PC001 op_badly_formed for the shape, PC002 op_not_applicable for the document).
SELECT pg_temp.try($$SELECT collab.apply('json0', '{}', '{"p": ["a"], "na": 1}')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{}', '[{"p": ["a"]}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{}', '[{"p": ["a"], "oi": 1, "li": 2}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{}', '[{"p": [true], "oi": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{}', '[{"p": ["missing", "x"], "oi": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"l": [1]}', '[{"p": ["l", 5], "ld": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"l": [1]}', '[{"p": ["l", "k"], "oi": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"o": {}}', '[{"p": ["o", 0], "li": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"l": [1]}', '[{"p": ["l", 0], "ld": 2}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"a": 1}', '[{"p": ["a"], "od": 2}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"a": "s"}', '[{"p": ["a"], "na": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"a": "xyz"}', '[{"p": ["a", 1], "sd": "q"}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"a": "s"}', '[{"p": ["a"], "t": "rich-text", "o": []}]')$$);
SELECT pg_temp.try($$SELECT collab.apply('json0', '{"a": 1}', '[{"p": ["a"], "oi": 2}]')$$);
-- Found by fuzzing: a subtype component without "o" crashed the backend in normalize (now PC001).
SELECT pg_temp.try($$SELECT collab.normalize('json0', '[{"p": ["x"], "t": "text-unicode"}, {"p": ["x"], "t": "text-unicode", "o": ["a"]}]')$$);

-- Documents: created by name or URI, with data that is real jsonb.
SELECT collab.create_doc('tasks', 't1', 'json0', '{"title": "Write docs", "status": "todo", "tags": [], "n": 0}');
SELECT collab.create_doc('tasks', 't2', 'http://sharejs.org/types/JSONv0', '{"title": "Ship", "status": "todo"}');
SELECT collab.create_doc('tasks', 'empty', 'json0');
SELECT * FROM pg_temp.doc('t1');
SELECT * FROM pg_temp.doc('empty');

-- Edits keep collab.documents.data current (data_version = version) for documents of up to
-- pg_collab.live_data_max_size.
SELECT * FROM collab.submit('tasks', 't1', 1, '[{"p": ["status"], "od": "todo", "oi": "done"}, {"p": ["tags", 0], "li": "docs"}]');
SELECT * FROM collab.submit('tasks', 't1', 2, '[{"p": ["title", 5], "si": " the"}, {"p": ["n"], "na": 3}]');
SELECT * FROM pg_temp.doc('t1');
-- Concurrent ops: based on version 2, transformed over op 2 (side left).
SELECT * FROM collab.submit('tasks', 't1', 2, '[{"p": ["title", 10], "si": "!"}, {"p": ["tags", 0], "li": "urgent"}]');
SELECT * FROM pg_temp.doc('t1');

-- SQL queries and indexes on the data.
SELECT id, data->>'title' AS title FROM collab.documents WHERE collection = 'tasks' AND data->>'status' = 'done';
CREATE INDEX tasks_status ON collab.documents ((data->>'status')) WHERE collection = 'tasks';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM collab.documents WHERE collection = 'tasks' AND data->>'status' = 'done';
SELECT id FROM collab.documents WHERE collection = 'tasks' AND data->>'status' = 'done';
RESET enable_seqscan;
DROP INDEX collab.tasks_status;
SELECT id FROM collab.documents WHERE collection = 'tasks' AND data @> '{"tags": ["docs"]}';

-- A bad op changes nothing: version, data and op-log stay as they were.
SELECT pg_temp.try($$SELECT collab.submit('tasks', 't1', 4, '[{"p": ["n"], "na": 1}, {"p": ["nope", "x"], "oi": 1}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('tasks', 't1', 4, '[{"p": ["tags", 9], "ld": "x"}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('tasks', 't1', 4, '[{"p": ["status"], "od": "todo"}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('tasks', 't1', 4, '[{"p": ["title"], "t": "nope", "o": []}]')$$);
SELECT * FROM pg_temp.doc('t1');
SELECT count(*) FROM collab.ops WHERE collection = 'tasks' AND id = 't1';

-- History: the document at any earlier version.
SELECT version, data FROM collab.snapshot_at('tasks', 't1', 1);
SELECT version, data FROM collab.snapshot_at('tasks', 't1', 3);

-- A document larger than pg_collab.live_data_max_size gets its data refreshed with each checkpoint only: an op does
-- not rewrite it.
SET pg_collab.live_data_max_size = 0;
SET pg_collab.checkpoint_interval = 3;
SELECT collab.create_doc('tasks', 'big', 'json0', '{"n": 0}');
SELECT * FROM collab.submit('tasks', 'big', NULL, '[{"p": ["n"], "na": 1}]');
SELECT * FROM pg_temp.doc('big');
SELECT * FROM collab.submit('tasks', 'big', NULL, '[{"p": ["n"], "na": 1}]');
SELECT * FROM collab.submit('tasks', 'big', NULL, '[{"p": ["n"], "na": 1}]');
SELECT * FROM pg_temp.doc('big');
RESET pg_collab.live_data_max_size;
RESET pg_collab.checkpoint_interval;

-- The bridge's batch: several ops on one document in one call write its data once, at the last version.
SELECT collab.grant('tasks', NULL, 'user:alice', 'editor');
SELECT i, version, op, error_code FROM collab.submit_many(replace($$[
  {"a": "A", "c": "tasks", "d": "t2", "v": 1, "op": [{"p": ["status"], "od": "todo", "oi": "doing"}]},
  {"a": "A", "c": "tasks", "d": "t2", "v": 1, "op": [{"p": ["title", 0], "si": "Do: "}]},
  {"a": "A", "c": "tasks", "d": "t2", "v": 1, "op": [{"p": ["owner"], "oi": "alice"}]},
  {"a": "A", "c": "tasks", "d": "t2", "v": 1, "op": [{"p": ["owner"], "oi": "bob"}]},
  {"a": "A", "c": "tasks", "d": "t3", "v": null, "op": {"create": {"type": "http://sharejs.org/types/JSONv0", "data": {"title": "new"}}}}
]$$, '"A"', '{"user": "alice", "org": null}')::jsonb);
SELECT * FROM pg_temp.doc('t2');
SELECT * FROM pg_temp.doc('t3');

-- Delete clears the data; a re-create starts again.
SELECT collab.delete_doc('tasks', 't2');
SELECT version, data, data_version FROM collab.documents WHERE collection = 'tasks' AND id = 't2';
SELECT collab.create_doc('tasks', 't2', 'json0', '[1, 2]');
SELECT * FROM pg_temp.doc('t2');
