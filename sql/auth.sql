-- Token service: signing keys, login tickets, access tokens (ES256 JWTs), rotating refresh tokens, logout,
-- revocation, the development login and who may call what. Tokens, ids and times are random or vary: only lengths,
-- booleans, counts and differences are printed.
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- base64url (no padding) -> bytes, and the JSON of a JWT part (1: header, 2: payload).
CREATE FUNCTION pg_temp.b64url(s text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64')
$$;
CREATE FUNCTION pg_temp.jwt(token text, part integer) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_from(pg_temp.b64url(split_part(token, '.', part)), 'UTF8')::jsonb
$$;
CREATE FUNCTION pg_temp.h(token text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to(token, 'UTF8'))
$$;
CREATE FUNCTION pg_temp.current_kid() RETURNS text LANGUAGE sql AS $$
    SELECT kid FROM collab.signing_keys WHERE retired_at IS NULL
$$;

-- Who may call what: collab_app (the application) and collab_bridge (the bridge). PUBLIC nothing.
SELECT p.proname,
       has_function_privilege('collab_app', p.oid, 'EXECUTE') AS app,
       has_function_privilege('collab_bridge', p.oid, 'EXECUTE') AS bridge,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public,
       p.prosecdef AS security_definer,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p
 WHERE p.pronamespace = 'collab'::regnamespace
   AND p.proname IN ('token_verification_keys', 'rotate_signing_key', 'create_login_ticket', 'dev_create_login_ticket',
                     'exchange_login_ticket', 'refresh_session', 'logout', 'revoke_user', 'revoke_session',
                     'revocations_since', '_random_token', '_new_signing_key', '_sign_access_token',
                     '_dev_login_enabled', '_token_hash', '_current_signing_key', '_record_revocation',
                     '_revoke_session', '_check_ttls', '_issue_tokens', '_refresh_session')
 ORDER BY p.proname;
SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
       has_table_privilege('collab_app', c.oid, 'SELECT') AS app_select,
       has_table_privilege('collab_bridge', c.oid, 'SELECT') AS bridge_select,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select
  FROM pg_class c
 WHERE c.relnamespace = 'collab'::regnamespace
   AND c.relname IN ('signing_keys', 'login_tickets', 'sessions', 'refresh_tokens', 'revocations')
 ORDER BY c.relname;

-- ---------------------------------------------------------------------------------------------------------------
-- Signing keys: the first one is created on the first call, once.
SELECT count(*) AS keys_before FROM collab.signing_keys;
SELECT kid = pg_temp.current_kid() AS is_current, length(kid) AS kid_length, alg, issuer, audience,
       public_key_pem LIKE '-----BEGIN PUBLIC KEY-----%' AS pem
  FROM collab.token_verification_keys();
SELECT count(*) AS rows FROM collab.token_verification_keys();
SELECT count(*) AS keys, count(*) FILTER (WHERE retired_at IS NULL) AS current,
       bool_and(private_key_pem LIKE '-----BEGIN PRIVATE KEY-----%') AS private_pem
  FROM collab.signing_keys;
-- There can be only one current key.
SELECT pg_temp.try($$INSERT INTO collab.signing_keys (kid, private_key_pem, public_key_pem) VALUES ('x', 'x', 'x')$$);

-- ---------------------------------------------------------------------------------------------------------------
-- Login tickets: only the hash is stored.
SELECT collab.create_login_ticket('alice', '{"org": "acme", "role": "admin"}') AS t1 \gset
SELECT length(:'t1') AS ticket_length, :'t1' ~ '^[A-Za-z0-9_-]+$' AS base64url;
SELECT user_id, org, claims, expires_at - created_at AS valid_for, used_at IS NULL AS unused
  FROM collab.login_tickets WHERE ticket_hash = pg_temp.h(:'t1');
SELECT count(*) AS rows_with_plaintext FROM collab.login_tickets t WHERE t::text LIKE '%' || :'t1' || '%';
SELECT collab.create_login_ticket('carol', valid_seconds => 120) AS t_carol \gset
SELECT expires_at - created_at AS valid_for FROM collab.login_tickets WHERE ticket_hash = pg_temp.h(:'t_carol');
-- Bad arguments (PC006).
SELECT pg_temp.try($$SELECT collab.create_login_ticket(NULL)$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('')$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket(repeat('u', 257))$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket(repeat('u', 256))$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '[]')$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{"org": ""}')$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{"org": 7}')$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{"org": null}')$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', NULL)$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{}', 0)$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{}', 3601)$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('u', '{}', NULL)$$);

-- ---------------------------------------------------------------------------------------------------------------
-- Exchange: a session, an access token and a refresh token; the ticket works once.
SELECT * FROM collab.exchange_login_ticket(:'t1') \gset e_
SELECT :'e_user_id' AS user_id, :'e_org' AS org, length(:'e_session_id') AS session_id_length,
       length(:'e_refresh_token') AS refresh_token_length,
       :'e_refresh_expires_at'::timestamptz - (SELECT used_at FROM collab.login_tickets
                                                WHERE ticket_hash = pg_temp.h(:'t1')) AS refresh_valid_for;
SELECT used_at IS NOT NULL AS ticket_used FROM collab.login_tickets WHERE ticket_hash = pg_temp.h(:'t1');
SELECT user_id, org, revoked_at IS NULL AS live FROM collab.sessions WHERE session_id = :'e_session_id';
SELECT parent_hash IS NULL AS first, used_at IS NULL AS live, expires_at = :'e_refresh_expires_at' AS expires
  FROM collab.refresh_tokens WHERE token_hash = pg_temp.h(:'e_refresh_token');
-- The access token: three base64url parts, header and claims as documented, a 64-byte signature (r || s).
SELECT array_length(string_to_array(:'e_access_token', '.'), 1) AS parts,
       :'e_access_token' ~ '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' AS base64url,
       pg_temp.jwt(:'e_access_token', 1) - 'kid' AS header,
       pg_temp.jwt(:'e_access_token', 1) ->> 'kid' = pg_temp.current_kid() AS kid_is_current,
       length(pg_temp.b64url(split_part(:'e_access_token', '.', 3))) AS signature_bytes;
SELECT (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(c) k) AS claims,
       c ->> 'iss' AS iss, c ->> 'aud' AS aud, c ->> 'sub' AS sub, c ->> 'org' AS org,
       c ->> 'sid' = :'e_session_id' AS sid_is_session,
       (c ->> 'jti')::uuid IS NOT NULL AS jti_uuid,
       (c ->> 'exp')::bigint - (c ->> 'iat')::bigint AS exp_minus_iat,
       c -> 'nbf' = c -> 'iat' AS nbf_is_iat,
       abs((c ->> 'iat')::bigint - extract(epoch FROM now())) < 5 AS iat_now,
       to_timestamp((c ->> 'exp')::bigint) = :'e_access_expires_at'::timestamptz AS exp_is_access_expires_at
  FROM pg_temp.jwt(:'e_access_token', 2) c;
-- Used, expired, unknown tickets (PC030).
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L)', :'t1'));
SELECT collab.create_login_ticket('alice', valid_seconds => 1) AS t2 \gset
UPDATE collab.login_tickets SET expires_at = now() - interval '1 second' WHERE ticket_hash = pg_temp.h(:'t2');
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L)', :'t2'));
SELECT pg_temp.try($$SELECT collab.exchange_login_ticket('no such ticket')$$);
SELECT pg_temp.try($$SELECT collab.exchange_login_ticket(NULL)$$);
-- Bad lifetimes (PC006) leave the ticket unused; a user without an organization gets no org claim.
SELECT collab.create_login_ticket('bob') AS t3 \gset
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L, 59)', :'t3'));
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L, 3601)', :'t3'));
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L, 900, 59)', :'t3'));
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L, 900, 31536001)', :'t3'));
SELECT access_token, refresh_token, refresh_expires_at, user_id, org IS NULL AS org_null, session_id
  FROM collab.exchange_login_ticket(:'t3', access_ttl_seconds => 3600, refresh_ttl_seconds => 60) \gset b_
SELECT :'b_user_id' AS user_id, :'b_org_null' AS org_null, pg_temp.jwt(:'b_access_token', 2) ? 'org' AS org_claim,
       (pg_temp.jwt(:'b_access_token', 2) ->> 'exp')::bigint - (pg_temp.jwt(:'b_access_token', 2) ->> 'iat')::bigint
           AS exp_minus_iat,
       :'b_refresh_expires_at'::timestamptz - (SELECT used_at FROM collab.login_tickets
                                                WHERE ticket_hash = pg_temp.h(:'t3')) AS refresh_valid_for;

-- ---------------------------------------------------------------------------------------------------------------
-- Refresh: each token works once; a retry within the grace window gets a new pair; any other reuse revokes the
-- session (one row with error_code PC032, committed), after which every token of the session fails (PC031).
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'e_refresh_token') \gset r1_
SELECT :'r1_error_code' = 'none' AS ok, :'r1_session_id' = :'e_session_id' AS same_session,
       :'r1_user_id' AS user_id, :'r1_org' AS org, :'r1_refresh_token' <> :'e_refresh_token' AS new_refresh_token,
       pg_temp.jwt(:'r1_access_token', 2) ->> 'sid' = :'e_session_id' AS sid,
       pg_temp.jwt(:'r1_access_token', 2) ->> 'jti' <> pg_temp.jwt(:'e_access_token', 2) ->> 'jti' AS new_jti;
SELECT (SELECT parent_hash FROM collab.refresh_tokens WHERE token_hash = pg_temp.h(:'r1_refresh_token'))
           = pg_temp.h(:'e_refresh_token') AS parent,
       (SELECT replaced_by FROM collab.refresh_tokens WHERE token_hash = pg_temp.h(:'e_refresh_token'))
           = pg_temp.h(:'r1_refresh_token') AS replaced_by;
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'r1_refresh_token', 600) \gset r2_
SELECT :'r2_error_code' = 'none' AS ok,
       (pg_temp.jwt(:'r2_access_token', 2) ->> 'exp')::bigint - (pg_temp.jwt(:'r2_access_token', 2) ->> 'iat')::bigint
           AS exp_minus_iat;
-- r1 again, within the grace window (r2, what it was exchanged for, is unused): a new pair; r2 is superseded.
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'r1_refresh_token', grace_seconds => 3600) \gset r3_
SELECT :'r3_error_code' = 'none' AS ok, :'r3_session_id' = :'e_session_id' AS same_session,
       :'r3_refresh_token' <> :'r2_refresh_token' AS new_refresh_token;
SELECT count(*) FILTER (WHERE used_at IS NULL) AS live_tokens, count(*) AS tokens
  FROM collab.refresh_tokens WHERE session_id = :'e_session_id';
-- r2, superseded just now, gets the same grace (a racing request that was answered with it).
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'r2_refresh_token', grace_seconds => 3600) \gset r4_
SELECT :'r4_error_code' = 'none' AS ok,
       (SELECT count(*) FROM collab.refresh_tokens
         WHERE session_id = :'e_session_id' AND used_at IS NULL) AS live_tokens,
       (SELECT token_hash FROM collab.refresh_tokens WHERE session_id = :'e_session_id' AND used_at IS NULL)
           = pg_temp.h(:'r4_refresh_token') AS live_is_r4;
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'r4_refresh_token') \gset r5_
SELECT :'r5_error_code' = 'none' AS ok;
-- e (the first token, rotated long before r5 was issued) is not a retry, even within the grace window: reuse.
SELECT coalesce(max(id), 0) AS rev0 FROM collab.revocations_since(0) \gset
SELECT access_token IS NULL AS no_access_token, access_expires_at IS NULL AS no_access_expiry,
       refresh_token IS NULL AS no_refresh_token, refresh_expires_at IS NULL AS no_refresh_expiry,
       user_id, org, session_id = :'e_session_id' AS same_session, error_code
  FROM collab.refresh_session(:'e_refresh_token', grace_seconds => 3600);
SELECT revoked_at IS NOT NULL AS session_revoked FROM collab.sessions WHERE session_id = :'e_session_id';
SELECT count(*) FILTER (WHERE used_at IS NULL) AS live_tokens
  FROM collab.refresh_tokens WHERE session_id = :'e_session_id';
SELECT id > :rev0 AS new_id, kind, subject = :'e_session_id' AS subject_is_session
  FROM collab.revocations_since(:rev0);
-- Every token of the revoked session now fails, the newest one too.
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'r5_refresh_token'));
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'r1_refresh_token'));
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'e_refresh_token'));
-- Reuse after the grace window (grace 0) revokes too.
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('dave')) \gset d_
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'d_refresh_token') \gset d1_
SELECT user_id, error_code FROM collab.refresh_session(:'d_refresh_token', grace_seconds => 0);
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'d1_refresh_token'));
-- Unknown and expired tokens (PC031) change nothing.
SELECT pg_temp.try($$SELECT collab.refresh_session('no such token')$$);
SELECT pg_temp.try($$SELECT collab.refresh_session(NULL)$$);
UPDATE collab.refresh_tokens SET expires_at = now() - interval '1 second'
 WHERE token_hash = pg_temp.h(:'b_refresh_token');
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'b_refresh_token'));
SELECT revoked_at IS NULL AS session_live FROM collab.sessions WHERE session_id = :'b_session_id';
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L, 900, 1209600, -1)', :'b_refresh_token'));
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L, 30)', :'b_refresh_token'));

-- ---------------------------------------------------------------------------------------------------------------
-- Logout: revokes the session, also with an already rotated token; false for an unknown token.
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('erin', '{"org": "acme"}')) \gset l_
SELECT access_token, refresh_token, session_id, user_id, org, coalesce(error_code, 'none') AS error_code
  FROM collab.refresh_session(:'l_refresh_token') \gset l1_
SELECT coalesce(max(id), 0) AS rev1 FROM collab.revocations_since(0) \gset
SELECT collab.logout(:'l_refresh_token') AS logged_out;
SELECT revoked_at IS NOT NULL AS session_revoked FROM collab.sessions WHERE session_id = :'l_session_id';
SELECT kind, subject = :'l_session_id' AS subject_is_session FROM collab.revocations_since(:rev1);
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'l1_refresh_token'));
SELECT collab.logout(:'l1_refresh_token') AS again, collab.logout('no such token') AS unknown;
SELECT count(*) AS new_revocations FROM collab.revocations_since(:rev1);

-- ---------------------------------------------------------------------------------------------------------------
-- Revocation. revoke_user: every session of the user, their unused tickets, and a 'user' revocation.
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('frank')) \gset f1_
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('frank')) \gset f2_
SELECT collab.create_login_ticket('frank') AS f_pending \gset
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('grace')) \gset g_
SELECT coalesce(max(id), 0) AS rev2 FROM collab.revocations_since(0) \gset
SELECT collab.revoke_user('frank') AS revoke_frank \gset
SELECT :revoke_frank > :rev2 AS new_id;
SELECT id = :revoke_frank AS is_returned_id, kind, subject,
       revoked_at >= (SELECT max(revoked_at) FROM collab.sessions WHERE user_id = 'frank') AS after_sessions
  FROM collab.revocations_since(:rev2);
SELECT user_id, count(*) FILTER (WHERE revoked_at IS NULL) AS live_sessions, count(*) AS sessions
  FROM collab.sessions WHERE user_id IN ('frank', 'grace') GROUP BY user_id ORDER BY user_id;
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'f1_refresh_token'));
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'f2_refresh_token'));
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L)', :'f_pending'));
SELECT error_code IS NULL AS grace_unaffected FROM collab.refresh_session(:'g_refresh_token');
-- The user can log in again.
SELECT user_id FROM collab.exchange_login_ticket(collab.create_login_ticket('frank'));
-- revoke_session: by session id (the session stops refreshing) or by an access token's jti.
SELECT * FROM collab.exchange_login_ticket(collab.create_login_ticket('heidi')) \gset h_
SELECT collab.revoke_session(:'h_session_id') AS revoke_h \gset
SELECT revoked_at IS NOT NULL AS session_revoked FROM collab.sessions WHERE session_id = :'h_session_id';
SELECT pg_temp.try(format('SELECT collab.refresh_session(%L)', :'h_refresh_token'));
SELECT pg_temp.jwt(:'h_access_token', 2) ->> 'jti' AS h_jti \gset
SELECT collab.revoke_session(:'h_jti') AS revoke_jti \gset
SELECT id = :revoke_jti AS is_returned_id, kind, subject = :'h_jti' AS subject_is_jti
  FROM collab.revocations_since(:revoke_h);
SELECT pg_temp.try($$SELECT collab.revoke_session('')$$);
SELECT pg_temp.try($$SELECT collab.revoke_user(NULL)$$);
SELECT pg_temp.try($$SELECT collab.revocations_since(NULL)$$);
-- Every revocation so far, in id order.
SELECT kind, count(*) FROM collab.revocations_since(0) GROUP BY kind ORDER BY kind;
SELECT bool_and(id > prev) AS increasing
  FROM (SELECT id, lag(id, 1, 0::bigint) OVER (ORDER BY id) AS prev FROM collab.revocations_since(0)) r;

-- ---------------------------------------------------------------------------------------------------------------
-- Key rotation: a new current key signs; the retired key stays listed for 3660 s.
SELECT pg_temp.current_kid() AS kid_old \gset
SELECT collab.rotate_signing_key() AS kid_new \gset
SELECT :'kid_new' = pg_temp.current_kid() AS new_is_current, :'kid_new' <> :'kid_old' AS changed;
SELECT kid = :'kid_new' AS is_new, kid = :'kid_old' AS is_old, alg FROM collab.token_verification_keys();
SELECT pg_temp.jwt(access_token, 1) ->> 'kid' = :'kid_new' AS signed_with_new_key
  FROM collab.exchange_login_ticket(collab.create_login_ticket('ivan'));
UPDATE collab.signing_keys SET retired_at = now() - interval '3661 seconds' WHERE kid = :'kid_old';
SELECT kid = :'kid_new' AS is_new FROM collab.token_verification_keys();
SELECT count(*) AS keys, count(*) FILTER (WHERE retired_at IS NULL) AS current FROM collab.signing_keys;

-- The internal C functions reject what they cannot use.
SELECT pg_temp.try($$SELECT collab._random_token(8)$$);
SELECT length(collab._random_token(16)) AS len16, length(collab._random_token()) AS len32,
       collab._random_token() <> collab._random_token() AS differ;
SELECT pg_temp.try($$SELECT collab._sign_access_token('k', 'not a key', '{}')$$) LIKE 'XX000: pg_collab: reading the signing key failed: %'
       AS bad_pem;
SELECT pg_temp.try(format('SELECT collab._sign_access_token(%L, %L, %L)', kid, private_key_pem, '[1]')) AS not_object
  FROM collab.signing_keys WHERE retired_at IS NULL;
SELECT pg_temp.try(format('SELECT collab._sign_access_token(%L, %L, %L)', '', private_key_pem, '{}')) AS empty_kid
  FROM collab.signing_keys WHERE retired_at IS NULL;
SELECT pg_temp.jwt(collab._sign_access_token(kid, private_key_pem, '{"a": [1, "é"]}'), 2) AS payload
  FROM collab.signing_keys WHERE retired_at IS NULL;

-- ---------------------------------------------------------------------------------------------------------------
-- Development login: refused unless pg_collab.dev_login is on (superuser-only setting).
SHOW pg_collab.dev_login;
SELECT pg_temp.try($$SELECT collab.dev_create_login_ticket('dev')$$);
SET pg_collab.dev_login = on;
SELECT user_id, org FROM collab.exchange_login_ticket(collab.dev_create_login_ticket('dev', 'devorg'));
SELECT user_id, org FROM collab.exchange_login_ticket(collab.dev_create_login_ticket('dev'));
SELECT collab.dev_create_login_ticket('dev') AS t_dev \gset
SELECT expires_at - created_at AS valid_for FROM collab.login_tickets WHERE ticket_hash = pg_temp.h(:'t_dev');
SELECT pg_temp.try($$SELECT collab.dev_create_login_ticket('dev', '')$$);
RESET pg_collab.dev_login;
SELECT pg_temp.try($$SELECT collab.dev_create_login_ticket('dev')$$);

-- ---------------------------------------------------------------------------------------------------------------
-- Privileges. A member of collab_bridge: its endpoints only, no tables, no application functions.
DROP ROLE IF EXISTS regress_auth_bridge;
DROP ROLE IF EXISTS regress_auth_app;
CREATE ROLE regress_auth_bridge NOLOGIN;
GRANT collab_bridge TO regress_auth_bridge;
CREATE ROLE regress_auth_app NOLOGIN;
GRANT collab_app TO regress_auth_app;
SELECT collab.create_login_ticket('judy', '{"org": "acme"}') AS j_ticket \gset
SET ROLE regress_auth_bridge;
SELECT pg_temp.try($$SELECT count(*) FROM collab.signing_keys$$);
SELECT pg_temp.try($$SELECT count(*) FROM collab.login_tickets$$);
SELECT pg_temp.try($$SELECT count(*) FROM collab.sessions$$);
SELECT pg_temp.try($$SELECT count(*) FROM collab.refresh_tokens$$);
SELECT pg_temp.try($$SELECT count(*) FROM collab.revocations$$);
SELECT pg_temp.try($$SELECT collab.create_login_ticket('mallory')$$);
SELECT pg_temp.try($$SELECT collab.revoke_user('judy')$$);
SELECT pg_temp.try($$SELECT collab.revoke_session('x')$$);
SELECT pg_temp.try($$SELECT collab.rotate_signing_key()$$);
SELECT pg_temp.try($$SELECT collab._sign_access_token('k', 'pem', '{}')$$);
SELECT pg_temp.try($$SELECT collab._random_token()$$);
SELECT pg_temp.try($$SELECT collab._issue_tokens('s', 'u', NULL, NULL, 900, 900)$$);
SELECT pg_temp.try($$SELECT collab._refresh_session('t', 900, 900, 10)$$);
SELECT pg_temp.try($$SELECT collab.dev_create_login_ticket('mallory')$$);
SELECT count(*) > 0 AS keys FROM collab.token_verification_keys();
SELECT * FROM collab.exchange_login_ticket(:'j_ticket') \gset j_
SELECT :'j_user_id' AS user_id, :'j_org' AS org;
SELECT error_code IS NULL AS refreshed FROM collab.refresh_session(:'j_refresh_token') \gset
SELECT :'refreshed' AS refreshed, count(*) > 0 AS revocations FROM collab.revocations_since(0);
SELECT collab.logout(:'j_refresh_token') AS logged_out;
RESET ROLE;
-- A member of collab_app: tickets, revocation and keys, but not the bridge's endpoints, and no tables either.
SET ROLE regress_auth_app;
SELECT pg_temp.try($$SELECT count(*) FROM collab.signing_keys$$);
SELECT pg_temp.try($$SELECT count(*) FROM collab.sessions$$);
SELECT collab.create_login_ticket('kate') AS k_ticket \gset
SELECT pg_temp.try(format('SELECT collab.exchange_login_ticket(%L)', :'k_ticket'));
SELECT pg_temp.try($$SELECT collab.refresh_session('t')$$);
SELECT pg_temp.try($$SELECT collab.logout('t')$$);
SELECT pg_temp.try($$SELECT collab.dev_create_login_ticket('mallory')$$);
SELECT pg_temp.try($$SELECT collab.revocations_since(0)$$);
SELECT count(*) > 0 AS keys FROM collab.token_verification_keys();
SELECT collab.revoke_user('kate') > 0 AS revoked;
SELECT length(collab.rotate_signing_key()) AS kid_length;
RESET ROLE;

DROP ROLE regress_auth_bridge;
DROP ROLE regress_auth_app;
