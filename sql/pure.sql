-- The pure type functions: results equal npm ot-text-unicode 4 (the differential test checks this on random input).
SELECT collab.type_uri('text-unicode'), collab.type_uri('http://sharejs.org/types/text-unicode');

-- apply
SELECT collab.apply('text-unicode', '"hello"', '[5, " world"]');
SELECT collab.apply('text-unicode', '"hello"', '[]');
SELECT collab.apply('text-unicode', NULL, '["from nothing"]');
SELECT collab.apply('text-unicode', '"héllo wörld"', '[1, {"d": "é"}, "e", 5, {"d": 1}, "o"]');
SELECT collab.apply('text-unicode', '"👍🏽 ok"', '[2, "!", 1, {"d": 2}]');
SELECT collab.apply('text-unicode', '"漢字"', '[1, "語", 1, "!"]');

-- transform: ties at one position go to the left op first.
SELECT collab.transform('text-unicode', '["a"]', '["b"]', 'left') AS left, collab.transform('text-unicode', '["a"]', '["b"]', 'right') AS right;
SELECT collab.transform('text-unicode', '[3, "x"]', '[1, {"d": 4}]', 'left');
SELECT collab.transform('text-unicode', '[1, {"d": 4}]', '[2, {"d": 4}]', 'left');
SELECT collab.transform('text-unicode', '[2, {"d": "abcd"}]', '[4, "XY"]', 'left');
SELECT collab.transform('text-unicode', '[{"d": "😀😀"}]', '[1, "é"]', 'right');
SELECT collab.transform('text-unicode', '[]', '["a"]', 'left');

-- compose
SELECT collab.compose('text-unicode', '[2, "xyz"]', '[3, {"d": "yz"}]');
SELECT collab.compose('text-unicode', '["abc"]', '[{"d": 3}]');
SELECT collab.compose('text-unicode', '[{"d": "ab"}]', '["cd"]');
SELECT collab.compose('text-unicode', '[1, {"d": 2}]', '[1, {"d": 2}]');

-- transform_position: an insert at the cursor does not move it; a delete around it pulls it to the start.
SELECT collab.transform_position('text-unicode', 3, '[3, "abc"]') AS insert_at,
       collab.transform_position('text-unicode', 3, '[1, "abc"]') AS insert_before,
       collab.transform_position('text-unicode', 3, '[1, {"d": 5}]') AS inside_delete,
       collab.transform_position('text-unicode', 3, '[4, {"d": 5}]') AS delete_after,
       collab.transform_position('text-unicode', 2, '["😀😀"]') AS astral;

-- normalize and invert
SELECT collab.normalize('text-unicode', '[0, "", 2, 3, "a", "b", {"d": 0}, {"d": "x"}, {"d": "y"}, {"d": 2}, 5]');
SELECT collab.normalize('text-unicode', '[{"d": "x"}, {"d": "y"}, 4]');
SELECT collab.invert('text-unicode', '[2, "ab", {"d": "cd"}]');
SELECT collab.apply('text-unicode', collab.apply('text-unicode', '"xxcdyy"', '[2, "ab", {"d": "cd"}]'),
                    collab.invert('text-unicode', '[2, "ab", {"d": "cd"}]'));

-- TP1 on one example: both orders converge.
SELECT collab.apply('text-unicode', collab.apply('text-unicode', '"abcdef"', '[1, {"d": 3}, "X"]'),
                    collab.transform('text-unicode', '[2, "Y", 2, {"d": 1}]', '[1, {"d": 3}, "X"]', 'right')) AS via_a,
       collab.apply('text-unicode', collab.apply('text-unicode', '"abcdef"', '[2, "Y", 2, {"d": 1}]'),
                    collab.transform('text-unicode', '[1, {"d": 3}, "X"]', '[2, "Y", 2, {"d": 1}]', 'left')) AS via_b;
