-- The document API: create, submit (with transform and de-duplication), fetch, history, delete and re-create.
SET client_min_messages = warning;

-- Create: the create is op version 0 and leaves the document at version 1.
SELECT collab.create_doc('notes', 'doc1', 'text-unicode', '"hello"');
SELECT * FROM collab.fetch('notes', 'doc1');
-- The type can be given by URI too; NULL data is the type's default (empty text).
SELECT collab.create_doc('notes', 'doc2', 'http://sharejs.org/types/text-unicode', NULL);
SELECT * FROM collab.fetch('notes', 'doc2');

-- An op based on the current version is applied as is and gets that version.
SELECT * FROM collab.submit('notes', 'doc1', 1, '[5, " world"]');
-- An op based on version 1 is transformed (side left) over op 1 and stored as version 2.
SELECT * FROM collab.submit('notes', 'doc1', 1, '[5, "!"]');
SELECT * FROM collab.fetch('notes', 'doc1');
-- Concurrent inserts at the same position: the op submitted later goes first ('left').
SELECT * FROM collab.submit('notes', 'doc1', 3, '[{"d": "hello"}, "HELLO"]');
SELECT * FROM collab.submit('notes', 'doc1', 3, '["<<"]');
SELECT * FROM collab.fetch('notes', 'doc1');
-- NULL base version means "the current version" (no transform).
SELECT * FROM collab.submit('notes', 'doc1', NULL, '[2, {"d": 3}]');
SELECT * FROM collab.fetch('notes', 'doc1');

-- Unicode: positions count code points; emoji, combining marks and CJK.
SELECT collab.create_doc('notes', 'uni', 'text-unicode', '"a😀b"');
SELECT * FROM collab.submit('notes', 'uni', 1, '[2, "é漢字👩‍👩‍👧"]');
SELECT * FROM collab.submit('notes', 'uni', 2, '[1, {"d": "😀"}]');
SELECT * FROM collab.fetch('notes', 'uni');
SELECT version, (SELECT char_length(data #>> '{}') FROM collab.fetch('notes', 'uni')) AS code_points FROM collab.documents WHERE collection = 'notes' AND id = 'uni';

-- (src, seq) de-duplication: a resubmitted op returns its original version and op and changes nothing.
SELECT * FROM collab.submit('notes', 'doc2', 1, '["abc"]', 'client-a', 1);
SELECT * FROM collab.submit('notes', 'doc2', 1, '["abc"]', 'client-a', 1);
SELECT * FROM collab.submit('notes', 'doc2', 1, '["xyz"]', 'client-b', 1);
-- Resent after another op was committed, based on the old version: still the original.
SELECT * FROM collab.submit('notes', 'doc2', 1, '["abc"]', 'client-a', 1);
SELECT * FROM collab.fetch('notes', 'doc2');
SELECT version, op, src, seq FROM collab.ops_since('notes', 'doc2', 0);

-- The op-log and history.
SELECT version, op, src, seq FROM collab.ops_since('notes', 'doc1', 0);
SELECT version, op FROM collab.ops_since('notes', 'doc1', 2, 4);
SELECT version, op FROM collab.ops_since('notes', 'doc1', 99);
SELECT * FROM collab.snapshot_at('notes', 'doc1', 0);
SELECT * FROM collab.snapshot_at('notes', 'doc1', 1);
SELECT * FROM collab.snapshot_at('notes', 'doc1', 3);
SELECT * FROM collab.snapshot_at('notes', 'doc1', 6);
-- Versions are contiguous, starting at 0.
SELECT count(*) = max(version) + 1 AS contiguous FROM collab.ops WHERE collection = 'notes' AND id = 'doc1';
-- History by time: before the document existed, and now.
SELECT * FROM collab.snapshot_at_time('notes', 'doc1', '-infinity');
SELECT * FROM collab.snapshot_at_time('notes', 'doc1', 'infinity');

-- Delete and re-create: versions keep counting; the op-log holds the create and the delete as ShareDB stores them.
SELECT collab.delete_doc('notes', 'doc2');
SELECT * FROM collab.fetch('notes', 'doc2');
SELECT collab.create_doc('notes', 'doc2', 'text-unicode', '"reborn"');
SELECT * FROM collab.fetch('notes', 'doc2');
SELECT version, op FROM collab.ops_since('notes', 'doc2', 0);
SELECT * FROM collab.snapshot_at('notes', 'doc2', 4);
-- A delete and a create can also be submitted as ops (what the bridge does), with de-duplication.
SELECT * FROM collab.submit('notes', 'doc2', 5, '{"del": true}', 'client-a', 2);
SELECT * FROM collab.submit('notes', 'doc2', 5, '{"del": true}', 'client-a', 2);
SELECT * FROM collab.submit('notes', 'doc2', NULL, '{"create": {"type": "text-unicode", "data": "third"}}', 'client-a', 3);
SELECT * FROM collab.submit('notes', 'doc2', NULL, '{"create": {"type": "text-unicode", "data": "third"}}', 'client-a', 3);
SELECT * FROM collab.fetch('notes', 'doc2');
-- Two users deleting at once: the second delete (based on the old version) is committed too, as in ShareDB.
SELECT * FROM collab.submit('notes', 'doc2', 7, '{"del": true}');
SELECT * FROM collab.submit('notes', 'doc2', 7, '{"del": true}');
SELECT * FROM collab.fetch('notes', 'doc2');

-- Work done in a rolled-back transaction or subtransaction leaves no trace (including in the document cache).
BEGIN;
SELECT * FROM collab.submit('notes', 'doc1', NULL, '["rolled back "]');
SELECT * FROM collab.fetch('notes', 'doc1');
ROLLBACK;
SELECT * FROM collab.fetch('notes', 'doc1');
BEGIN;
SAVEPOINT s1;
SELECT * FROM collab.submit('notes', 'doc1', NULL, '["sub "]');
ROLLBACK TO SAVEPOINT s1;
SELECT * FROM collab.submit('notes', 'doc1', NULL, '["kept "]');
COMMIT;
SELECT * FROM collab.fetch('notes', 'doc1');
SELECT count(*) = max(version) + 1 AS contiguous FROM collab.ops WHERE collection = 'notes' AND id = 'doc1';
