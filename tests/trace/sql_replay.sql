-- Replays an editing trace through pg_collab's SQL API; run by tests/trace/sql_replay.sh, which feeds the gunzipped
-- trace JSON on standard input and sets the psql variables coll, docid and batch.
--
-- Trace format: {startContent, endContent, txns: [{time, patches: [[pos, delCount, insText], ...]}]}, positions and
-- counts in Unicode code points, patches applied in order. Each patch becomes one text-unicode op
-- [pos?, {"d": delCount}?, insText?] (no zero-length part, no leading 0 skip, no trailing skip), submitted with
-- collab.submit on top of the previous one. The procedure commits every :batch ops.
--
-- Output: one line `RESULT|ops|empty_patches|seconds|ops_per_second|final_version|match|end_code_points`; on a
-- mismatch, a line `MISMATCH|first differing code point|expected length|actual length|expected excerpt|actual excerpt`.
\set ON_ERROR_STOP on
set client_min_messages = warning;

create temp table trace_raw (n bigserial primary key, line text);
-- CSV with control characters as delimiter and quote, which JSON text cannot contain: every line arrives verbatim.
\copy trace_raw (line) from pstdin with (format csv, delimiter E'\x01', quote E'\x02')

create temp table trace as
select string_agg(coalesce(line, ''), E'\n' order by n)::jsonb as j
from trace_raw;

do $$
begin
  if (select jsonb_typeof(j -> 'startContent') is distinct from 'string'
          or jsonb_typeof(j -> 'endContent') is distinct from 'string'
          or jsonb_typeof(j -> 'txns') is distinct from 'array'
      from pg_temp.trace) then
    raise exception 'the trace is not {startContent: string, endContent: string, txns: [...]}';
  end if;
end
$$;

create temp table trace_patches as
select row_number() over (order by t.i, p.k) as n, p.patch
from pg_temp.trace,
     jsonb_array_elements(j -> 'txns') with ordinality as t (txn, i),
     jsonb_array_elements(t.txn -> 'patches') with ordinality as p (patch, k);

do $$
declare
  bad record;
begin
  select n, patch into bad
  from pg_temp.trace_patches
  where not (jsonb_typeof(patch) = 'array' and jsonb_array_length(patch) = 3
             and jsonb_typeof(patch -> 0) = 'number' and (patch ->> 0) ~ '^[0-9]+$'
             and jsonb_typeof(patch -> 1) = 'number' and (patch ->> 1) ~ '^[0-9]+$'
             and jsonb_typeof(patch -> 2) = 'string')
  order by n
  limit 1;
  if found then
    raise exception 'patch % of the trace is not [pos, delCount, insText] with non-negative integers: %', bad.n, bad.patch;
  end if;
end
$$;

-- Patches that neither delete nor insert would be empty ops; they are counted and left out.
create temp table trace_ops as
select n,
       (case when pos > 0 then jsonb_build_array(pos) else '[]' end)
         || (case when del > 0 then jsonb_build_array(jsonb_build_object('d', del)) else '[]' end)
         || (case when ins <> '' then jsonb_build_array(ins) else '[]' end) as op
from (select n, (patch ->> 0)::bigint as pos, (patch ->> 1)::bigint as del, patch ->> 2 as ins
      from pg_temp.trace_patches) as p
where del > 0 or ins <> '';

create procedure pg_temp.replay(coll text, docid text, batch int)
language plpgsql
as $$
declare
  base bigint;
  stored bigint;
  r record;
  k bigint := 0;
begin
  select f.version into strict base from collab.fetch(coll, docid) as f;
  for r in select n, op from pg_temp.trace_ops order by n loop
    select s.version into strict stored from collab.submit(coll, docid, base, r.op) as s;
    if stored is distinct from base then
      raise exception 'patch % (op %) based on version % was stored as version %: was document %/% edited by another session?',
        r.n, r.op, base, stored, coll, docid;
    end if;
    base := stored + 1;
    k := k + 1;
    if k % batch = 0 then
      commit;
    end if;
  end loop;
  commit;
end
$$;

-- The extension is created unless the database already has the collab schema (of the extension, or a stand-in).
select to_regnamespace('collab') is null as need_extension \gset
\if :need_extension
create extension pg_collab;
\endif
select collab.create_doc(:'coll', :'docid', 'text-unicode', to_jsonb(j ->> 'startContent')) as created_version
from pg_temp.trace \gset

create temp table timing as select clock_timestamp() as t0;
call pg_temp.replay(:'coll', :'docid', :batch);
create temp table result as
select (select count(*) from pg_temp.trace_ops) as ops,
       (select count(*) from pg_temp.trace_patches) - (select count(*) from pg_temp.trace_ops) as empty_patches,
       extract(epoch from clock_timestamp() - t0)::numeric as seconds,
       f.version as final_version,
       coalesce(f.data = to_jsonb(j ->> 'endContent'), false) as match,
       f.data as actual,
       j ->> 'endContent' as expected
from pg_temp.timing, pg_temp.trace, collab.fetch(:'coll', :'docid') as f;

select 'RESULT', ops, empty_patches, round(seconds, 3), round(ops / greatest(seconds, 0.001)), final_version, match,
       length(expected)
from pg_temp.result;

select 'MISMATCH', d.i, cardinality(e.chars), cardinality(a.chars),
       to_jsonb(array_to_string(e.chars[greatest(d.i - 20, 1):d.i + 40], '')),
       to_jsonb(array_to_string(a.chars[greatest(d.i - 20, 1):d.i + 40], ''))
from pg_temp.result,
     lateral (select string_to_array(expected, null) as chars) as e,
     lateral (select coalesce(string_to_array(actual #>> '{}', null), '{}') as chars) as a,
     lateral (select min(i) as i
              from generate_series(1, greatest(cardinality(e.chars), cardinality(a.chars)) + 1) as i
              where e.chars[i] is distinct from a.chars[i]) as d
where not match;
