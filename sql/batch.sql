-- Batch functions used by the bridge: submit_many (one transaction, a subtransaction per op, document order),
-- fetch_many, ops_many, transform_presence and the client-id signing secret. Each request names the acting user
-- ("a"); here user alice, who is an editor of the collection.
SET client_min_messages = warning;
SELECT collab.create_doc('batch', 'a', 'text-unicode', '"hello"');
SELECT collab.create_doc('batch', 'b', 'text-unicode', '"world"');
SELECT collab.grant('batch', NULL, 'user:alice', 'editor');
-- Client ids bound to alice, as a bridge issues them.
SELECT collab.issue_client_id('alice') AS s1, collab.issue_client_id('alice') AS s2, collab.issue_client_id('alice') AS s3 \gset
CREATE TEMP TABLE ids AS SELECT :'s1'::text AS s1, :'s2'::text AS s2, :'s3'::text AS s3;
CREATE FUNCTION pg_temp.with_ids(t text) RETURNS jsonb LANGUAGE sql AS
$$ SELECT replace(replace(replace(replace(t, '"S1"', to_jsonb(s1)::text), '"S2"', to_jsonb(s2)::text),
                          '"S3"', to_jsonb(s3)::text), '"A"', '{"user": "alice", "org": null}')::jsonb FROM ids $$;

-- Requests are answered by index; a failing request does not affect the others; ops for one document are applied
-- in the order given; a request that cannot be read is reported too.
SELECT i, version, op, replace(missed::text, (SELECT s1 FROM ids), 'S1') AS missed, error_code, error_message
  FROM collab.submit_many(pg_temp.with_ids($$[
  {"a": "A", "c": "batch", "d": "b", "v": 1, "op": [5, "!"], "src": "S1", "seq": 1},
  {"a": "A", "c": "batch", "d": "a", "v": 1, "op": [5, "!"], "src": "S1", "seq": 2},
  {"a": "A", "c": "batch", "d": "a", "v": 1, "op": ["X"], "src": "S2", "seq": 1},
  {"a": "A", "c": "batch", "d": "a", "v": 1, "op": [100, "X"]},
  {"a": "A", "c": "batch", "d": "new", "v": null, "op": {"create": {"type": "text-unicode", "data": "z"}}, "src": "S2", "seq": 2},
  {"a": "A", "c": 5, "d": "x", "op": []},
  {"a": "A", "c": "batch", "d": "a", "v": 1, "op": ["Y"], "src": "S3"},
  {"a": "A", "c": "batch", "d": "a", "v": 1, "op": [5, "!"], "src": "S1", "seq": 2},
  {"a": "A", "c": "batch", "d": "a", "v": 9, "op": ["Z"]},
  {"c": "batch", "d": "a", "v": 3, "op": ["W"]}
]$$));
SELECT * FROM collab.fetch_many(pg_temp.with_ids('[{"a": "A", "c": "batch", "d": "a"}, {"a": "A", "c": "batch", "d": "b"}, {"a": "A", "c": "batch", "d": "new"}, {"a": "A", "c": "batch", "d": "never"}]'));
SELECT collection, id, current_version, version, op, src = (SELECT s1 FROM ids) AS src_is_s1, seq, denied
  FROM collab.ops_many(pg_temp.with_ids('[{"a": "A", "c": "batch", "d": "a", "from": 1}, {"a": "A", "c": "batch", "d": "b", "from": 2}, {"a": "A", "c": "batch", "d": "never", "from": 0}]'));
SELECT collection, id, current_version, version, op, seq, denied
  FROM collab.ops_many(pg_temp.with_ids('[{"a": "A", "c": "batch", "d": "a", "from": 0}]'), 2);
-- Only the committed requests were written, with contiguous versions.
SELECT id, count(*), max(version) FROM collab.ops WHERE collection = 'batch' GROUP BY id ORDER BY id;
SELECT collab.submit_many('{"not": "an array"}');
SELECT * FROM collab.ops_many('[{"c": "batch", "d": "a", "from": 0}]');

-- A presence value made at an older version moves through the ops since; a create or delete clears it.
SELECT * FROM collab.transform_presence('{"user": "alice"}', 'batch', 'a', 1, '{"index": 3, "length": 2, "color": "red"}');
SELECT * FROM collab.transform_presence('{"user": "alice"}', 'batch', 'a', 3, '{"index": 0, "length": 0}');
SELECT * FROM collab.transform_presence('{"user": "alice"}', 'batch', 'new', 0, '{"index": 0, "length": 0}');
SELECT * FROM collab.transform_presence('{"user": "alice"}', 'batch', 'never', 0, '{"index": 0}');

SELECT length(collab.bridge_client_id_secret()) AS secret_hex_length;
SELECT has_table_privilege('collab_bridge', 'collab.bridge_secrets', 'SELECT') AS bridge_reads_secret_table;
