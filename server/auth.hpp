// collab-bridge: who a request acts for. Verifies access tokens (the built-in token service's ES256 keys, loaded
// from the database, and an external issuer's keys from files), keeps the revocations the database announces, checks
// Origin against the allowlist, and counts connections per user and per address. No libwebsockets here: server.cpp
// extracts the headers. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bridge.hpp"
#include "config.hpp"
#include "jwt.hpp"

namespace collab::bridge {

// Cookie names of the built-in token service.
inline constexpr const char *kAccessCookie = "collab_access";
inline constexpr const char *kRefreshCookie = "collab_refresh";

struct AuthResult {
    int status = 0;   // 0: accepted; otherwise the HTTP status to refuse with (401, 403, 429, 503)
    std::string code; // a stable code: token_missing, token_expired, token_revoked, ... (docs/security.md)
    std::string message;
    Identity identity;
};

class Auth {
  public:
    // Loads the external issuer's keys from the files named in config; throws std::runtime_error saying which file
    // and why when one is missing, unreadable or invalid.
    explicit Auth(const Config &config);

    bool insecure() const { return config_.insecure_no_auth; }
    // Built-in keys and revocations loaded from the database (sockets are refused with 503 until then).
    bool ready() const { return insecure() || (builtin_loaded_ && revocations_loaded_); }

    // The identity of a request that presented token (empty: none) at Unix time now.
    AuthResult authenticate(std::string_view token, std::int64_t now) const;
    // Whether a request with this Origin header (empty: none, a non-browser client) may proceed.
    bool origin_allowed(std::string_view origin) const;
    // Whether identity's token has been revoked since it was issued (at Unix time now).
    bool revoked(const Identity &identity, std::int64_t now) const;

    void set_builtin_keys(const std::vector<jwt::BuiltinKey> &keys);
    std::int64_t last_revocation_id() const { return last_revocation_id_; }
    void add_revocation(std::int64_t id, const std::string &kind, const std::string &subject, std::int64_t revoked_at);
    void revocations_loaded() { revocations_loaded_ = true; }

    // Connection caps. admit() says whether one more socket for this user and address is allowed (status 429 and
    // the reason otherwise); opened() and closed() keep the counts.
    AuthResult admit(const Identity &identity) const;
    void opened(const Identity &identity);
    void closed(const Identity &identity);

    // Token bucket per address for /auth/*: false when the address is over --auth-rate-limit per minute.
    bool allow_auth_request(const std::string &ip, std::int64_t now_ms);

  private:
    const Config &config_;
    jwt::KeySet keys_;
    bool builtin_loaded_ = false;
    bool revocations_loaded_ = false;
    std::int64_t last_revocation_id_ = 0;
    std::unordered_map<std::string, std::int64_t> revoked_users_;    // user -> revoked at (tokens issued <= refused)
    std::unordered_map<std::string, std::int64_t> revoked_sessions_; // sid or jti -> revoked at
    std::unordered_map<std::string, int> per_user_, per_ip_;
    struct Bucket {
        double tokens = 0;
        std::int64_t at_ms = 0;
    };
    std::unordered_map<std::string, Bucket> auth_buckets_;
};

// Helpers for the HTTP layer.
// The value of cookie name in a Cookie header ("a=1; b=2"), or empty.
std::string cookie_value(std::string_view header, std::string_view name);
// The token of an "Authorization: Bearer <token>" header, or empty.
std::string bearer_token(std::string_view header);
// Whether a query string (without "?") names a token parameter (access_token, token, jwt, id_token, auth...).
bool query_has_token(std::string_view query);

} // namespace collab::bridge
