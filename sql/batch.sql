-- Batch functions used by the bridge: submit_many (one transaction, a subtransaction per op, document order),
-- fetch_many, ops_many, transform_presence and the client-id signing secret.
SET client_min_messages = warning;
SELECT collab.create_doc('batch', 'a', 'text-unicode', '"hello"');
SELECT collab.create_doc('batch', 'b', 'text-unicode', '"world"');

-- Requests are answered by index; a failing request does not affect the others; ops for one document are applied
-- in the order given; a request that cannot be read is reported too.
SELECT i, version, op, missed, error_code, error_message FROM collab.submit_many($$[
  {"c": "batch", "d": "b", "v": 1, "op": [5, "!"], "src": "s1", "seq": 1},
  {"c": "batch", "d": "a", "v": 1, "op": [5, "!"], "src": "s1", "seq": 2},
  {"c": "batch", "d": "a", "v": 1, "op": ["X"], "src": "s2", "seq": 1},
  {"c": "batch", "d": "a", "v": 1, "op": [100, "X"]},
  {"c": "batch", "d": "new", "v": null, "op": {"create": {"type": "text-unicode", "data": "z"}}, "src": "s2", "seq": 2},
  {"c": 5, "d": "x", "op": []},
  {"c": "batch", "d": "a", "v": 1, "op": ["Y"], "src": "s3"},
  {"c": "batch", "d": "a", "v": 1, "op": [5, "!"], "src": "s1", "seq": 2},
  {"c": "batch", "d": "a", "v": 9, "op": ["Z"]}
]$$);
SELECT * FROM collab.fetch_many('[{"c": "batch", "d": "a"}, {"c": "batch", "d": "b"}, {"c": "batch", "d": "new"}, {"c": "batch", "d": "never"}]');
SELECT * FROM collab.ops_many('[{"c": "batch", "d": "a", "from": 1}, {"c": "batch", "d": "b", "from": 2}, {"c": "batch", "d": "never", "from": 0}]');
SELECT * FROM collab.ops_many('[{"c": "batch", "d": "a", "from": 0}]', 2);
-- Only the committed requests were written, with contiguous versions.
SELECT id, count(*), max(version) FROM collab.ops WHERE collection = 'batch' GROUP BY id ORDER BY id;
SELECT collab.submit_many('{"not": "an array"}');

-- A presence value made at an older version moves through the ops since; a create or delete clears it.
SELECT * FROM collab.transform_presence('batch', 'a', 1, '{"index": 3, "length": 2, "color": "red"}');
SELECT * FROM collab.transform_presence('batch', 'a', 3, '{"index": 0, "length": 0}');
SELECT * FROM collab.transform_presence('batch', 'new', 0, '{"index": 0, "length": 0}');
SELECT * FROM collab.transform_presence('batch', 'never', 0, '{"index": 0}');

SELECT length(collab.bridge_client_id_secret()) AS secret_hex_length;
SELECT has_table_privilege('collab_bridge', 'collab.bridge_secrets', 'SELECT') AS bridge_reads_secret_table;
