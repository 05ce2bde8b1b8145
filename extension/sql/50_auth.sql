-- ---------------------------------------------------------------------------------------------------------------
-- Token service: login tickets, sessions with rotating refresh tokens, ES256-signed access tokens (JWT) and
-- revocations. The application (collab_app) vouches for a user by creating a single-use login ticket; the bridge
-- (collab_bridge) exchanges it for an access token and a refresh token, refreshes, logs out, and verifies access tokens
-- itself with the public keys of collab.token_verification_keys(), refusing those that collab.revocations_since()
-- lists. Secrets are stored only as SHA-256 hashes (tickets, refresh tokens); private keys never leave the database
-- except into the internal signing function. NOTIFY collab_auth carries 'keys' (the key set changed) and
-- 'revocation:<id>' hints; the tables stay the truth.
--
-- Access token claims: {"iss": "pg_collab", "aud": "pg_collab", "sub": user_id, "org": org (absent without one),
-- "sid": session_id, "jti": uuid, "iat", "nbf", "exp": seconds since the epoch}; header {"alg": "ES256", "typ": "JWT",
-- "kid": kid}.
--
-- Locks: refresh, logout and revocations of one session serialize on its sessions row (FOR UPDATE); a ticket
-- exchange and revoke_user of one user serialize on a transaction advisory lock on the user id; key creation and
-- rotation on a SHARE ROW EXCLUSIVE lock of signing_keys; revocation inserts on one of revocations, so that their ids
-- become visible in increasing order (a bridge reading revocations_since(last seen id) never skips one).

-- ES256 signing keys. Exactly one is current (retired_at IS NULL); retired keys stay listed for verification while
-- access tokens they signed can still be valid.
CREATE TABLE @extschema@.signing_keys (
    kid             text        PRIMARY KEY,
    private_key_pem text        NOT NULL,
    public_key_pem  text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    retired_at      timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_current ON @extschema@.signing_keys ((true)) WHERE retired_at IS NULL;
COMMENT ON TABLE @extschema@.signing_keys IS
'ES256 (ECDSA P-256) key pairs for access tokens. One current key (retired_at NULL) signs; retired keys are kept. '
'The private key is unencrypted PKCS#8 PEM: only the extension owner can read this table.';

-- Login tickets: single-use, short-lived proofs that the application vouches for a user. Only the SHA-256 is stored.
CREATE TABLE @extschema@.login_tickets (
    ticket_hash bytea       PRIMARY KEY,
    user_id     text        NOT NULL,
    org         text,
    claims      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX login_tickets_expires ON @extschema@.login_tickets (expires_at);
CREATE INDEX login_tickets_pending_user ON @extschema@.login_tickets (user_id) WHERE used_at IS NULL;
COMMENT ON TABLE @extschema@.login_tickets IS
'Single-use login tickets (SHA-256 of the ticket only). used_at is set when a ticket is exchanged, or when '
'revoke_user() voids it. Tickets expired for more than a day are deleted by create_login_ticket().';

-- Sessions: one per login (ticket exchange); the family of its refresh tokens.
CREATE TABLE @extschema@.sessions (
    session_id text        PRIMARY KEY,
    user_id    text        NOT NULL,
    org        text,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    revoked_at timestamptz
);
CREATE INDEX sessions_live_user ON @extschema@.sessions (user_id) WHERE revoked_at IS NULL;
COMMENT ON TABLE @extschema@.sessions IS
'One row per login (the "sid" claim of its access tokens): the family of its refresh tokens. revoked_at is set by '
'logout(), revoke_session(), revoke_user() and by the reuse of a rotated refresh token.';

-- Refresh tokens: a chain per session; only the SHA-256 is stored. At most one token per session is live (used_at
-- NULL); each use replaces it.
CREATE TABLE @extschema@.refresh_tokens (
    token_hash  bytea       PRIMARY KEY,
    session_id  text        NOT NULL REFERENCES @extschema@.sessions,
    parent_hash bytea,       -- the token it was issued for (NULL for the first token of a session)
    issued_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz, -- when it was exchanged, superseded or its session revoked
    replaced_by bytea        -- the token most recently issued for it
);
CREATE INDEX refresh_tokens_session ON @extschema@.refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON @extschema@.refresh_tokens (expires_at);
COMMENT ON TABLE @extschema@.refresh_tokens IS
'Rotating refresh tokens (SHA-256 only), chained by parent_hash/replaced_by. At most one per session is live '
'(used_at NULL). Tokens expired for more than a day are deleted by exchange_login_ticket(): once expired, a token is '
'refused whether or not it is known.';

-- Revocations: what bridges must refuse. Rows are kept (never deleted): revocations_since(0) lists them all.
CREATE TABLE @extschema@.revocations (
    id         bigserial   PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('user', 'session')),
    subject    text        NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE @extschema@.revocations IS
'Revocations for bridges. kind ''user'': refuse every access token of that user (sub) with iat <= revoked_at. '
'kind ''session'': refuse every access token whose sid or jti is the subject. Rows are kept; ids become visible in '
'increasing order.';

REVOKE ALL ON @extschema@.signing_keys, @extschema@.login_tickets, @extschema@.sessions, @extschema@.refresh_tokens,
              @extschema@.revocations FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.revocations_id_seq FROM PUBLIC;
-- pg_dump dumps the rows of these extension tables (keys, sessions and revocations survive a dump and restore, and
-- revocation ids keep counting). Login tickets live at most an hour: not dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.signing_keys', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_tokens', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.revocations', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.revocations_id_seq', '');

-- ---------------------------------------------------------------------------------------------------------------
-- Internal helpers (no EXECUTE for anyone: only the SECURITY DEFINER functions below, run as the extension owner,
-- call them).

CREATE FUNCTION @extschema@._random_token(nbytes integer DEFAULT 32) RETURNS text
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_auth_random_token';
COMMENT ON FUNCTION @extschema@._random_token(integer) IS
'Internal: nbytes (16..256) random bytes from OpenSSL''s CSPRNG, base64url without padding.';
REVOKE ALL ON FUNCTION @extschema@._random_token(integer) FROM PUBLIC;

CREATE FUNCTION @extschema@._new_signing_key()
RETURNS TABLE (kid text, private_key_pem text, public_key_pem text)
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_auth_new_signing_key';
COMMENT ON FUNCTION @extschema@._new_signing_key() IS
'Internal: a new ES256 key pair (PKCS#8 and SubjectPublicKeyInfo PEM) and a random kid (16 bytes, hex). Stores '
'nothing.';
REVOKE ALL ON FUNCTION @extschema@._new_signing_key() FROM PUBLIC;

CREATE FUNCTION @extschema@._sign_access_token(kid text, private_key_pem text, claims jsonb) RETURNS text
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_auth_sign_access_token';
COMMENT ON FUNCTION @extschema@._sign_access_token(text, text, jsonb) IS
'Internal: the compact JWS of the claims object, header {"alg":"ES256","typ":"JWT","kid":kid}, signed with the P-256 '
'private key (signature: the 64 bytes r || s).';
REVOKE ALL ON FUNCTION @extschema@._sign_access_token(text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION @extschema@._dev_login_enabled() RETURNS boolean
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'collab_auth_dev_login_enabled';
COMMENT ON FUNCTION @extschema@._dev_login_enabled() IS 'Internal: whether pg_collab.dev_login is on.';
REVOKE ALL ON FUNCTION @extschema@._dev_login_enabled() FROM PUBLIC;

CREATE FUNCTION @extschema@._token_hash(token text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT pg_catalog.sha256(pg_catalog.convert_to(token, 'UTF8')) $fn$;
COMMENT ON FUNCTION @extschema@._token_hash(text) IS
'Internal: the stored form of a ticket or refresh token, SHA-256 of its UTF-8 text.';
REVOKE ALL ON FUNCTION @extschema@._token_hash(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._current_signing_key()
RETURNS TABLE (kid text, private_key_pem text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    k record;
BEGIN
    SELECT s.kid, s.private_key_pem INTO k FROM @extschema@.signing_keys s WHERE s.retired_at IS NULL;
    IF NOT FOUND THEN
        -- The first key. The lock makes concurrent first calls wait; the one that follows sees the key (a new
        -- statement, a new snapshot). The unique index on the current key backs this up.
        LOCK TABLE @extschema@.signing_keys IN SHARE ROW EXCLUSIVE MODE;
        SELECT s.kid, s.private_key_pem INTO k FROM @extschema@.signing_keys s WHERE s.retired_at IS NULL;
        IF NOT FOUND THEN
            INSERT INTO @extschema@.signing_keys AS s (kid, private_key_pem, public_key_pem)
            SELECT n.kid, n.private_key_pem, n.public_key_pem FROM @extschema@._new_signing_key() n
            RETURNING s.kid, s.private_key_pem INTO k;
            PERFORM pg_notify('collab_auth', 'keys');
        END IF;
    END IF;
    RETURN QUERY SELECT k.kid, k.private_key_pem;
END
$fn$;
COMMENT ON FUNCTION @extschema@._current_signing_key() IS
'Internal: the current signing key; creates the first one if there is none (NOTIFY collab_auth, ''keys'').';
REVOKE ALL ON FUNCTION @extschema@._current_signing_key() FROM PUBLIC;

CREATE FUNCTION @extschema@._record_revocation(p_kind text, p_subject text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    new_id bigint;
BEGIN
    -- Held to commit: the next revocation gets its id only after this one is visible, so ids appear in order.
    LOCK TABLE @extschema@.revocations IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO @extschema@.revocations AS r (kind, subject, revoked_at)
    VALUES (p_kind, p_subject, clock_timestamp())
    RETURNING r.id INTO new_id;
    PERFORM pg_notify('collab_auth', 'revocation:' || new_id);
    RETURN new_id;
END
$fn$;
COMMENT ON FUNCTION @extschema@._record_revocation(text, text) IS
'Internal: inserts a revocation (NOTIFY collab_auth, ''revocation:<id>''); returns its id.';
REVOKE ALL ON FUNCTION @extschema@._record_revocation(text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._revoke_session(p_session_id text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
BEGIN
    UPDATE @extschema@.sessions s SET revoked_at = clock_timestamp()
     WHERE s.session_id = p_session_id AND s.revoked_at IS NULL;
    UPDATE @extschema@.refresh_tokens t SET used_at = now()
     WHERE t.session_id = p_session_id AND t.used_at IS NULL;
    RETURN @extschema@._record_revocation('session', p_session_id);
END
$fn$;
COMMENT ON FUNCTION @extschema@._revoke_session(text) IS
'Internal: revokes a session (if it exists and is live) and its live refresh token, and records a ''session'' '
'revocation for the subject; returns the revocation id.';
REVOKE ALL ON FUNCTION @extschema@._revoke_session(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._check_ttls(access_ttl_seconds integer, refresh_ttl_seconds integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF access_ttl_seconds IS NULL OR access_ttl_seconds < 60 OR access_ttl_seconds > 3600 THEN
        RAISE EXCEPTION 'access_ttl_seconds must be between 60 and 3600, got %',
            coalesce(access_ttl_seconds::text, 'NULL')
            USING ERRCODE = 'PC006';
    END IF;
    IF refresh_ttl_seconds IS NULL OR refresh_ttl_seconds < 60 OR refresh_ttl_seconds > 31536000 THEN
        RAISE EXCEPTION 'refresh_ttl_seconds must be between 60 and 31536000, got %',
            coalesce(refresh_ttl_seconds::text, 'NULL')
            USING ERRCODE = 'PC006';
    END IF;
END
$fn$;
COMMENT ON FUNCTION @extschema@._check_ttls(integer, integer) IS
'Internal: raises PC006 unless 60 <= access_ttl_seconds <= 3600 and 60 <= refresh_ttl_seconds <= 31536000.';
REVOKE ALL ON FUNCTION @extschema@._check_ttls(integer, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@._issue_tokens(p_session_id text, p_user_id text, p_org text, p_parent_hash bytea,
                                          p_access_ttl integer, p_refresh_ttl integer)
RETURNS TABLE (access_token text, access_expires_at timestamptz, refresh_token text, refresh_expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    k record;
    iat bigint := floor(extract(epoch FROM now()))::bigint;
    claims jsonb;
    new_hash bytea;
BEGIN
    SELECT c.kid, c.private_key_pem INTO k FROM @extschema@._current_signing_key() c;
    claims := jsonb_build_object('iss', 'pg_collab', 'aud', 'pg_collab', 'sub', p_user_id, 'sid', p_session_id,
                                 'jti', gen_random_uuid()::text, 'iat', iat, 'nbf', iat, 'exp', iat + p_access_ttl);
    IF p_org IS NOT NULL THEN
        claims := claims || jsonb_build_object('org', p_org);
    END IF;
    access_token := @extschema@._sign_access_token(k.kid, k.private_key_pem, claims);
    access_expires_at := to_timestamp((iat + p_access_ttl)::double precision);

    refresh_token := @extschema@._random_token(32);
    new_hash := @extschema@._token_hash(refresh_token);
    refresh_expires_at := now() + make_interval(secs => p_refresh_ttl);
    INSERT INTO @extschema@.refresh_tokens (token_hash, session_id, parent_hash, expires_at)
    VALUES (new_hash, p_session_id, p_parent_hash, refresh_expires_at);
    IF p_parent_hash IS NOT NULL THEN
        UPDATE @extschema@.refresh_tokens t SET replaced_by = new_hash WHERE t.token_hash = p_parent_hash;
    END IF;
    RETURN NEXT;
END
$fn$;
COMMENT ON FUNCTION @extschema@._issue_tokens(text, text, text, bytea, integer, integer) IS
'Internal: signs an access token for the session and stores a new live refresh token (child of p_parent_hash).';
REVOKE ALL ON FUNCTION @extschema@._issue_tokens(text, text, text, bytea, integer, integer) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------------------------
-- Signing keys

CREATE FUNCTION @extschema@.token_verification_keys()
RETURNS TABLE (kid text, alg text, public_key_pem text, issuer text, audience text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM FROM @extschema@._current_signing_key();
    RETURN QUERY
        SELECT s.kid, 'ES256'::text, s.public_key_pem, 'pg_collab'::text, 'pg_collab'::text
          FROM @extschema@.signing_keys s
         WHERE s.retired_at IS NULL OR s.retired_at > now() - interval '3660 seconds'
         ORDER BY s.retired_at DESC NULLS FIRST, s.created_at DESC;
END
$fn$;
COMMENT ON FUNCTION @extschema@.token_verification_keys() IS
'The public keys that verify access tokens: the current key first, then every key retired in the last 3660 s (the '
'longest access token lifetime, 3600 s, plus 60 s leeway). Creates the first key when there is none. Tokens are '
'ES256 JWTs with iss and aud ''pg_collab''; match the header''s kid, pin alg, and re-read the keys on '
'NOTIFY collab_auth, ''keys'' (and on an unknown kid).';
REVOKE ALL ON FUNCTION @extschema@.token_verification_keys() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.token_verification_keys() TO collab_app, collab_bridge;

CREATE FUNCTION @extschema@.rotate_signing_key() RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    new_kid text;
BEGIN
    LOCK TABLE @extschema@.signing_keys IN SHARE ROW EXCLUSIVE MODE;
    UPDATE @extschema@.signing_keys s SET retired_at = clock_timestamp() WHERE s.retired_at IS NULL;
    INSERT INTO @extschema@.signing_keys AS s (kid, private_key_pem, public_key_pem)
    SELECT n.kid, n.private_key_pem, n.public_key_pem FROM @extschema@._new_signing_key() n
    RETURNING s.kid INTO new_kid;
    PERFORM pg_notify('collab_auth', 'keys');
    RETURN new_kid;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rotate_signing_key() IS
'Retires the current signing key and makes a new one current; returns its kid. NOTIFY collab_auth, ''keys''. Tokens '
'signed with the retired key stay verifiable (token_verification_keys() lists it for 3660 s).';
REVOKE ALL ON FUNCTION @extschema@.rotate_signing_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rotate_signing_key() TO collab_app;

-- ---------------------------------------------------------------------------------------------------------------
-- Login tickets

CREATE FUNCTION @extschema@.create_login_ticket(user_id text, claims jsonb DEFAULT '{}'::jsonb,
                                                valid_seconds integer DEFAULT 60)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    c jsonb := coalesce(create_login_ticket.claims, '{}'::jsonb);
    user_org text;
    ticket text;
BEGIN
    IF create_login_ticket.user_id IS NULL OR create_login_ticket.user_id = '' THEN
        RAISE EXCEPTION 'user_id must not be NULL or empty' USING ERRCODE = 'PC006';
    END IF;
    IF char_length(create_login_ticket.user_id) > 256 THEN
        RAISE EXCEPTION 'user_id must be at most 256 characters long, got %', char_length(create_login_ticket.user_id)
            USING ERRCODE = 'PC006';
    END IF;
    IF jsonb_typeof(c) <> 'object' THEN
        RAISE EXCEPTION 'claims must be a JSON object, got %', jsonb_typeof(c) USING ERRCODE = 'PC006';
    END IF;
    IF c ? 'org' AND jsonb_typeof(c -> 'org') <> 'null' THEN
        IF jsonb_typeof(c -> 'org') <> 'string' OR c ->> 'org' = '' OR char_length(c ->> 'org') > 256 THEN
            RAISE EXCEPTION 'claims.org must be a non-empty string of at most 256 characters'
                USING ERRCODE = 'PC006', HINT = 'Leave "org" out (or null) for a user without an organization.';
        END IF;
        user_org := c ->> 'org';
    END IF;
    IF valid_seconds IS NULL OR valid_seconds < 1 OR valid_seconds > 3600 THEN
        RAISE EXCEPTION 'valid_seconds must be between 1 and 3600, got %', coalesce(valid_seconds::text, 'NULL')
            USING ERRCODE = 'PC006';
    END IF;

    DELETE FROM @extschema@.login_tickets t WHERE t.expires_at < now() - interval '1 day';
    ticket := @extschema@._random_token(32);
    INSERT INTO @extschema@.login_tickets (ticket_hash, user_id, org, claims, expires_at)
    VALUES (@extschema@._token_hash(ticket), create_login_ticket.user_id, user_org, c,
            now() + make_interval(secs => valid_seconds));
    RETURN ticket;
END
$fn$;
COMMENT ON FUNCTION @extschema@.create_login_ticket(text, jsonb, integer) IS
'The application vouches for a user: returns a single-use login ticket (32 random bytes, base64url) valid for '
'valid_seconds (1..3600), to hand to the client, which gives it to the bridge (exchange_login_ticket). '
'claims->>''org'' is the user''s organization (optional; null or absent: none); other members are stored with the '
'ticket only.';
REVOKE ALL ON FUNCTION @extschema@.create_login_ticket(text, jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_login_ticket(text, jsonb, integer) TO collab_app;

CREATE FUNCTION @extschema@.dev_create_login_ticket(user_id text, org text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT @extschema@._dev_login_enabled() THEN
        RAISE EXCEPTION 'the development login is off'
            USING ERRCODE = 'PC033',
                  HINT = 'A superuser can turn it on with pg_collab.dev_login = on, for a development database only.';
    END IF;
    RETURN @extschema@.create_login_ticket(
        dev_create_login_ticket.user_id,
        CASE WHEN dev_create_login_ticket.org IS NULL THEN '{}'::jsonb
             ELSE jsonb_build_object('org', dev_create_login_ticket.org) END,
        60);
END
$fn$;
COMMENT ON FUNCTION @extschema@.dev_create_login_ticket(text, text) IS
'Development only: a login ticket (valid 60 s) for any user, with no application vouching for them. Raises PC033 '
'unless pg_collab.dev_login is on (a superuser-only setting, off by default).';
REVOKE ALL ON FUNCTION @extschema@.dev_create_login_ticket(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.dev_create_login_ticket(text, text) TO collab_bridge;

-- ---------------------------------------------------------------------------------------------------------------
-- Sessions and refresh tokens

CREATE FUNCTION @extschema@.exchange_login_ticket(ticket text, access_ttl_seconds integer DEFAULT 900,
                                                  refresh_ttl_seconds integer DEFAULT 1209600)
RETURNS TABLE (access_token text, access_expires_at timestamptz, refresh_token text, refresh_expires_at timestamptz,
               user_id text, org text, session_id text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    h bytea := @extschema@._token_hash(ticket);
    ticket_user text;
    tk record;
    sid text := gen_random_uuid()::text;
BEGIN
    PERFORM @extschema@._check_ttls(access_ttl_seconds, refresh_ttl_seconds);
    -- Serialize with revoke_user() of the same user before touching the ticket (no row lock is held while waiting):
    -- either revoke_user() sees the new session, or this sees the ticket voided.
    SELECT t.user_id INTO ticket_user FROM @extschema@.login_tickets t WHERE t.ticket_hash = h;
    IF FOUND THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('pg_collab.user:' || ticket_user, 0));
    END IF;
    UPDATE @extschema@.login_tickets t SET used_at = now()
     WHERE t.ticket_hash = h AND t.used_at IS NULL AND t.expires_at > now()
    RETURNING t.user_id, t.org INTO tk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the login ticket is unknown, already used or expired'
            USING ERRCODE = 'PC030',
                  HINT = 'Log in again: the application creates a new ticket with collab.create_login_ticket().';
    END IF;
    INSERT INTO @extschema@.sessions (session_id, user_id, org) VALUES (sid, tk.user_id, tk.org);
    DELETE FROM @extschema@.refresh_tokens t WHERE t.expires_at < now() - interval '1 day';
    RETURN QUERY
        SELECT i.access_token, i.access_expires_at, i.refresh_token, i.refresh_expires_at, tk.user_id, tk.org, sid
          FROM @extschema@._issue_tokens(sid, tk.user_id, tk.org, NULL, access_ttl_seconds, refresh_ttl_seconds) i;
END
$fn$;
COMMENT ON FUNCTION @extschema@.exchange_login_ticket(text, integer, integer) IS
'Consumes a login ticket and starts a session: returns an access token (ES256 JWT, access_ttl_seconds 60..3600), a '
'refresh token (refresh_ttl_seconds 60..31536000), the user, organization and session id. PC030 when the ticket is '
'unknown, already used or expired.';
REVOKE ALL ON FUNCTION @extschema@.exchange_login_ticket(text, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.exchange_login_ticket(text, integer, integer) TO collab_bridge;

-- PL/pgSQL refuses an input and an output both named refresh_token: refresh_session() is a SQL wrapper around this.
CREATE FUNCTION @extschema@._refresh_session(p_token text, p_access_ttl integer, p_refresh_ttl integer,
                                             p_grace integer)
RETURNS TABLE (access_token text, access_expires_at timestamptz, refresh_token text, refresh_expires_at timestamptz,
               user_id text, org text, session_id text, error_code text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    h bytea := @extschema@._token_hash(p_token);
    sess record;
    tok record;
    live bytea;
BEGIN
    PERFORM @extschema@._check_ttls(p_access_ttl, p_refresh_ttl);
    IF p_grace IS NULL OR p_grace < 0 OR p_grace > 3600 THEN
        RAISE EXCEPTION 'grace_seconds must be between 0 and 3600, got %', coalesce(p_grace::text, 'NULL')
            USING ERRCODE = 'PC006';
    END IF;
    -- The session's row lock serializes everything done to its token family.
    SELECT s.session_id, s.user_id, s.org, s.revoked_at INTO sess
      FROM @extschema@.refresh_tokens t JOIN @extschema@.sessions s ON s.session_id = t.session_id
     WHERE t.token_hash = h
       FOR UPDATE OF s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the refresh token is unknown' USING ERRCODE = 'PC031', HINT = 'Log in again.';
    END IF;
    IF sess.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'the session of this refresh token was revoked' USING ERRCODE = 'PC031', HINT = 'Log in again.';
    END IF;
    SELECT t.used_at, t.expires_at, t.replaced_by INTO tok FROM @extschema@.refresh_tokens t WHERE t.token_hash = h;
    IF tok.expires_at <= now() THEN
        RAISE EXCEPTION 'the refresh token expired' USING ERRCODE = 'PC031', HINT = 'Log in again.';
    END IF;

    UPDATE @extschema@.refresh_tokens t SET used_at = now()
     WHERE t.token_hash = h AND t.used_at IS NULL AND t.expires_at > now();
    IF NOT FOUND THEN
        -- Used before. Within the grace window, if what it was exchanged for is still the session's live token (the
        -- response was lost, or two requests raced), exchange it again: the live token is superseded, so that a
        -- session keeps one live refresh token. Any other reuse means the token was copied: revoke the session.
        SELECT t.token_hash INTO live FROM @extschema@.refresh_tokens t
         WHERE t.session_id = sess.session_id AND t.used_at IS NULL
         ORDER BY t.issued_at DESC LIMIT 1;
        IF tok.used_at > now() - make_interval(secs => p_grace) AND live IS NOT NULL AND tok.replaced_by = live THEN
            UPDATE @extschema@.refresh_tokens t SET used_at = now()
             WHERE t.session_id = sess.session_id AND t.used_at IS NULL;
            RETURN QUERY
                SELECT i.access_token, i.access_expires_at, i.refresh_token, i.refresh_expires_at,
                       sess.user_id, sess.org, sess.session_id, NULL::text
                  FROM @extschema@._issue_tokens(sess.session_id, sess.user_id, sess.org, h,
                                                 p_access_ttl, p_refresh_ttl) i;
            -- The superseded token counts as exchanged for the new one (its own retry gets the same grace).
            UPDATE @extschema@.refresh_tokens t
               SET replaced_by = (SELECT r.replaced_by FROM @extschema@.refresh_tokens r WHERE r.token_hash = h)
             WHERE t.token_hash = live;
            RETURN;
        END IF;
        -- Not raised: an error would roll the revocation back.
        PERFORM @extschema@._revoke_session(sess.session_id);
        RETURN QUERY SELECT NULL::text, NULL::timestamptz, NULL::text, NULL::timestamptz,
                            sess.user_id, sess.org, sess.session_id, 'PC032'::text;
        RETURN;
    END IF;

    RETURN QUERY
        SELECT i.access_token, i.access_expires_at, i.refresh_token, i.refresh_expires_at,
               sess.user_id, sess.org, sess.session_id, NULL::text
          FROM @extschema@._issue_tokens(sess.session_id, sess.user_id, sess.org, h, p_access_ttl, p_refresh_ttl) i;
END
$fn$;
COMMENT ON FUNCTION @extschema@._refresh_session(text, integer, integer, integer) IS
'Internal: the body of refresh_session().';
REVOKE ALL ON FUNCTION @extschema@._refresh_session(text, integer, integer, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.refresh_session(refresh_token text, access_ttl_seconds integer DEFAULT 900,
                                            refresh_ttl_seconds integer DEFAULT 1209600,
                                            grace_seconds integer DEFAULT 10)
RETURNS TABLE (access_token text, access_expires_at timestamptz, refresh_token text, refresh_expires_at timestamptz,
               user_id text, org text, session_id text, error_code text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT r.access_token, r.access_expires_at, r.refresh_token, r.refresh_expires_at, r.user_id, r.org, r.session_id,
           r.error_code
      FROM @extschema@._refresh_session($1, $2, $3, $4) r
$fn$;
COMMENT ON FUNCTION @extschema@.refresh_session(text, integer, integer, integer) IS
'Rotates a refresh token (RFC 9700): consumes it and returns a new access token and refresh token, with error_code '
'NULL. A token used again within grace_seconds (0..3600), while the token it was exchanged for is still unused, is '
'exchanged again (lost responses, racing requests; that unused token is superseded). Any other reuse revokes the '
'whole session and records a ''session'' revocation: then the function returns normally, so that the revocation '
'commits, with one row whose token columns are NULL and error_code is ''PC032''. Raises PC031 when the token is '
'unknown, expired or its session revoked.';
REVOKE ALL ON FUNCTION @extschema@.refresh_session(text, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_session(text, integer, integer, integer) TO collab_bridge;

CREATE FUNCTION @extschema@.logout(refresh_token text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    sess record;
BEGIN
    SELECT s.session_id, s.revoked_at INTO sess
      FROM @extschema@.refresh_tokens t JOIN @extschema@.sessions s ON s.session_id = t.session_id
     WHERE t.token_hash = @extschema@._token_hash(logout.refresh_token)
       FOR UPDATE OF s;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF sess.revoked_at IS NULL THEN
        PERFORM @extschema@._revoke_session(sess.session_id);
    END IF;
    RETURN true;
END
$fn$;
COMMENT ON FUNCTION @extschema@.logout(text) IS
'Revokes the session of a refresh token (any token of the session, also a rotated or expired one) and records a '
'''session'' revocation. Returns false when the token is unknown, true otherwise (also when the session was already '
'revoked; then nothing new is recorded).';
REVOKE ALL ON FUNCTION @extschema@.logout(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.logout(text) TO collab_bridge;

-- ---------------------------------------------------------------------------------------------------------------
-- Revocation

CREATE FUNCTION @extschema@.revoke_user(user_id text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
DECLARE
    revoked text[];
BEGIN
    IF revoke_user.user_id IS NULL OR revoke_user.user_id = '' THEN
        RAISE EXCEPTION 'user_id must not be NULL or empty' USING ERRCODE = 'PC006';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('pg_collab.user:' || revoke_user.user_id, 0));
    -- Sessions first, then their tokens: the order refresh_session() locks them in.
    WITH r AS (
        UPDATE @extschema@.sessions s SET revoked_at = clock_timestamp()
         WHERE s.user_id = revoke_user.user_id AND s.revoked_at IS NULL
        RETURNING s.session_id)
    SELECT coalesce(array_agg(r.session_id), '{}') INTO revoked FROM r;
    UPDATE @extschema@.refresh_tokens t SET used_at = now()
     WHERE t.session_id = ANY (revoked) AND t.used_at IS NULL;
    UPDATE @extschema@.login_tickets t SET used_at = now()
     WHERE t.user_id = revoke_user.user_id AND t.used_at IS NULL;
    RETURN @extschema@._record_revocation('user', revoke_user.user_id);
END
$fn$;
COMMENT ON FUNCTION @extschema@.revoke_user(text) IS
'Logs a user out everywhere: revokes every session of the user, voids their unused login tickets and records a '
'''user'' revocation (bridges refuse the user''s access tokens with iat <= revoked_at); returns its id. The user can '
'log in again with a new ticket.';
REVOKE ALL ON FUNCTION @extschema@.revoke_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_user(text) TO collab_app;

CREATE FUNCTION @extschema@.revoke_session(session_or_jti text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
BEGIN
    IF session_or_jti IS NULL OR session_or_jti = '' THEN
        RAISE EXCEPTION 'session_or_jti must not be NULL or empty' USING ERRCODE = 'PC006';
    END IF;
    PERFORM FROM @extschema@.sessions s WHERE s.session_id = session_or_jti FOR UPDATE;
    RETURN @extschema@._revoke_session(session_or_jti);
END
$fn$;
COMMENT ON FUNCTION @extschema@.revoke_session(text) IS
'Revokes a session (its refresh tokens stop working) if the subject is a session id, and records a ''session'' '
'revocation: bridges refuse access tokens whose sid or jti is the subject. Returns the revocation id.';
REVOKE ALL ON FUNCTION @extschema@.revoke_session(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_session(text) TO collab_app;

CREATE FUNCTION @extschema@.revocations_since(after_id bigint)
RETURNS TABLE (id bigint, kind text, subject text, revoked_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
AS $fn$
BEGIN
    IF after_id IS NULL THEN
        RAISE EXCEPTION 'after_id must not be NULL (0 lists every revocation)' USING ERRCODE = 'PC006';
    END IF;
    RETURN QUERY
        SELECT r.id, r.kind, r.subject, r.revoked_at FROM @extschema@.revocations r
         WHERE r.id > after_id ORDER BY r.id;
END
$fn$;
COMMENT ON FUNCTION @extschema@.revocations_since(bigint) IS
'Revocations with id > after_id, in id order. Ids become visible in increasing order, so a bridge can keep the '
'highest id it has seen and ask again on NOTIFY collab_auth, ''revocation:<id>''. Rows are kept: 0 lists all of them.';
REVOKE ALL ON FUNCTION @extschema@.revocations_since(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revocations_since(bigint) TO collab_bridge;
