-- Bad input: every error has its own SQLSTATE (class PC, see collab.error_codes()) and a message naming the problem,
-- and writes nothing.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM collab.ops WHERE collection = 'errs') || ' ops, ' ||
           (SELECT count(*) FROM collab.documents WHERE collection = 'errs') || ' documents, ' ||
           (SELECT count(*) FROM collab.snapshots WHERE collection = 'errs') || ' snapshots, ' ||
           (SELECT string_agg(id || '@' || version, ' ' ORDER BY id) FROM collab.documents WHERE collection = 'errs')
$$;

SELECT collab.create_doc('errs', 'doc', 'text-unicode', '"hello"');
SELECT * FROM collab.submit('errs', 'doc', 1, '[5, " world"]');
SELECT collab.create_doc('errs', 'gone', 'text-unicode', '"bye"');
SELECT collab.delete_doc('errs', 'gone');
SELECT pg_temp.state();

-- Malformed ops (PC001 op_badly_formed).
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '{"x": 1}')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '"abc"')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '{"del": false}')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '{"create": "text-unicode"}')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '{"create": {"type": "text-unicode"}, "del": true}')$$);
-- Unknown component kinds.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[1, true]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[null]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[[1]]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"i": "x"}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": 1, "x": 2}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": true}]')$$);
-- Non-integer, negative, zero and huge counts.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[1.5, "a"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[-1, "a"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[0, "a"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": 0}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": -2}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": 2.5}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[9007199254740992, "a"]')$$);
-- The npm checkOp rules: empty inserts and deletes, adjacent skips, a trailing skip.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[""]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": ""}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[1, 2, "a"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[3]')$$);

-- Ops that do not fit the document (PC002 op_not_applicable).
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[100, "x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[3, {"d": 10}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[{"d": "HELLO"}]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '[6, {"d": "world!"}]')$$);

-- Versions (PC013 version_newer_than_document, PC006 invalid_argument).
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 3, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', -1, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.snapshot_at('errs', 'doc', 3)$$);
SELECT pg_temp.try($$SELECT collab.snapshot_at('errs', 'doc', -1)$$);
SELECT pg_temp.try($$SELECT collab.ops_since('errs', 'doc', -1)$$);

-- Unknown documents (PC010 document_does_not_exist) and deleted ones (PC012 document_was_deleted).
SELECT pg_temp.try($$SELECT collab.submit('errs', 'nope', 0, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.fetch('errs', 'nope')$$);
SELECT pg_temp.try($$SELECT collab.snapshot_at('errs', 'nope', 0)$$);
SELECT pg_temp.try($$SELECT collab.snapshot_at_time('errs', 'nope', now())$$);
SELECT pg_temp.try($$SELECT collab.ops_since('errs', 'nope', 0)$$);
SELECT pg_temp.try($$SELECT collab.delete_doc('errs', 'nope')$$);
SELECT pg_temp.try($$SELECT collab.delete_doc('errs', 'gone')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'gone', NULL, '["x"]')$$);
-- An edit based on a version before a delete.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'gone', 1, '["x"]')$$);
-- A delete of a document that was never created.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'nope', NULL, '{"del": true}')$$);

-- Unknown types (PC005 type_not_recognized) and data of the wrong shape (PC004 data_badly_formed).
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'new', 'text', '"x"')$$);
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'new', 'http://sharejs.org/types/textv1', '"x"')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'new', NULL, '{"create": {"type": "rich-text", "data": []}}')$$);
SELECT pg_temp.try($$SELECT collab.apply('nope', '"x"', '[]')$$);
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'new', 'text-unicode', '42')$$);
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'new', 'text-unicode', '{"text": "x"}')$$);
SELECT pg_temp.try($$SELECT collab.apply('text-unicode', '["x"]', '[]')$$);

-- Creating twice (PC011 document_already_created), including a create based on an old version.
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'doc', 'text-unicode', '"again"')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 0, '{"create": {"type": "text-unicode", "data": "x"}}')$$);
-- An edit based on version 0 (before the create).
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 0, '["x"]')$$);

-- Invalid text (PC003 invalid_text). PostgreSQL's jsonb input already refuses lone surrogates and NUL, so SQL
-- callers see its own error (22P05) before pg_collab does; the core's check is unit-tested.
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["\ud800"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["a\u0000b"]')$$);

-- Invalid arguments (PC006 invalid_argument).
SELECT pg_temp.try($$SELECT collab.submit(NULL, 'doc', 2, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', NULL, 2, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, NULL)$$);
SELECT pg_temp.try($$SELECT collab.submit('', 'doc', 2, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', repeat('x', 257), 2, '["x"]')$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["x"]', 'client', NULL)$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["x"]', NULL, 1)$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["x"]', '', 1)$$);
SELECT pg_temp.try($$SELECT collab.submit('errs', 'doc', 2, '["x"]', 'client', -1)$$);
SELECT pg_temp.try($$SELECT collab.create_doc('errs', 'new', NULL, '"x"')$$);
SELECT pg_temp.try($$SELECT collab.transform('text-unicode', '["a"]', '["b"]', 'middle')$$);
SELECT pg_temp.try($$SELECT collab.transform('text-unicode', '["a"]', '["b"]', NULL)$$);

-- Not supported by the type (PC007): inverting a delete that carries no text.
SELECT pg_temp.try($$SELECT collab.invert('text-unicode', '[2, {"d": 3}]')$$);

-- Nothing above was written.
SELECT pg_temp.state();
SELECT * FROM collab.fetch('errs', 'doc');

-- The SQLSTATEs and their ShareDB codes.
SELECT sqlstate, name, sharedb_code FROM collab.error_codes() ORDER BY sqlstate;
