// collab-bridge: authentication state (see auth.hpp).
#include "auth.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "log.hpp"

namespace collab::bridge {

namespace {

constexpr std::int64_t kMaxBuiltinLifetime = 3600 + 60; // collab.exchange_login_ticket() allows at most 3600 s
constexpr std::int64_t kRevokeUndatedSeconds = 86400;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
           });
}

AuthResult refuse(int status, std::string code, std::string message) {
    AuthResult r;
    r.status = status;
    r.code = std::move(code);
    r.message = std::move(message);
    return r;
}

} // namespace

Auth::Auth(const Config &config) : config_(config) {
    const auto load = [](const std::string &path, const char *flag, auto &&add) {
        if (path.empty()) return;
        try {
            add(path);
        } catch (const std::exception &e) {
            throw std::runtime_error(std::string(flag) + ": " + e.what());
        }
    };
    load(config.jwt_hs256_secret_file, "--jwt-hs256-secret-file", [&](const std::string &path) {
        keys_.add_hs256_secret(jwt::KeySet::read_secret_file(path), config.jwt_issuer, config.jwt_audience);
    });
    load(config.jwt_public_key_file, "--jwt-public-key-file", [&](const std::string &path) {
        keys_.add_public_key_pem(jwt::KeySet::read_key_file(path), config.jwt_issuer, config.jwt_audience);
    });
    load(config.jwt_jwks_file, "--jwt-jwks-file", [&](const std::string &path) {
        keys_.add_jwks(jwt::KeySet::read_key_file(path), config.jwt_issuer, config.jwt_audience);
    });
    const auto from_env = [](const std::string &var) {
        const char *v = std::getenv(var.c_str());
        if (v == nullptr || *v == '\0')
            throw std::runtime_error("the environment variable " + var + " is not set or empty");
        return std::string(v);
    };
    load(config.jwt_hs256_secret_env, "--jwt-hs256-secret-env", [&](const std::string &var) {
        keys_.add_hs256_secret(from_env(var), config.jwt_issuer, config.jwt_audience);
    });
    load(config.jwt_public_key_env, "--jwt-public-key-env", [&](const std::string &var) {
        keys_.add_public_key_pem(from_env(var), config.jwt_issuer, config.jwt_audience, {}, "public-key-env");
    });
}

void Auth::set_builtin_keys(const std::vector<jwt::BuiltinKey> &keys) {
    keys_.replace_builtin(keys);
    builtin_loaded_ = true;
}

AuthResult Auth::authenticate(std::string_view token, std::int64_t now) const {
    if (token.empty()) {
        if (insecure()) {
            AuthResult r;
            r.identity.user = "anonymous";
            return r;
        }
        return refuse(401, "token_missing",
                      "no access token: log in (POST /auth/session) and send the token as the collab_access cookie or "
                      "an Authorization: Bearer header (browsers: POST /auth/cookie turns a token into the cookie)");
    }
    if (!ready()) return refuse(503, "auth_starting", "the bridge is loading its keys from the database: retry soon");
    jwt::VerifyOptions options;
    options.now = now;
    options.org_claim = config_.jwt_org_claim;
    jwt::VerifyResult v = jwt::verify(keys_, token, options);
    if (!v.ok) return refuse(401, v.error, "access token refused: " + v.message);
    AuthResult r;
    r.identity.user = v.claims.sub;
    r.identity.org = v.claims.org;
    r.identity.sid = v.claims.sid;
    r.identity.jti = v.claims.jti;
    r.identity.iat = v.claims.iat;
    r.identity.exp = v.claims.exp;
    if (v.claims.builtin && v.claims.exp - v.claims.iat > kMaxBuiltinLifetime)
        return refuse(401, "token_lifetime_invalid",
                      "access token refused: the built-in service never issues tokens valid for more than an hour");
    if (revoked(r.identity, now)) return refuse(401, "token_revoked", "access token refused: it has been revoked");
    return r;
}

bool Auth::origin_allowed(std::string_view origin) const {
    if (origin.empty()) return true; // not a browser: the token decides
    return std::find(config_.allowed_origins.begin(), config_.allowed_origins.end(), origin) !=
           config_.allowed_origins.end();
}

bool Auth::revoked(const Identity &identity, std::int64_t now) const {
    if (identity.exp == 0) return false; // --insecure-no-auth
    auto u = revoked_users_.find(identity.user);
    if (u != revoked_users_.end()) {
        if (identity.iat > 0 && identity.iat <= u->second) return true;
        // A token without iat may predate the revocation: refused for a day after it (longer than external tokens
        // are expected to live), not forever.
        if (identity.iat == 0 && now < u->second + kRevokeUndatedSeconds) return true;
    }
    if (!identity.sid.empty() && revoked_sessions_.count(identity.sid) != 0) return true;
    if (!identity.jti.empty() && revoked_sessions_.count(identity.jti) != 0) return true;
    return false;
}

void Auth::add_revocation(std::int64_t id, const std::string &kind, const std::string &subject,
                          std::int64_t revoked_at) {
    last_revocation_id_ = std::max(last_revocation_id_, id);
    if (kind == "user") {
        std::int64_t &at = revoked_users_[subject];
        at = std::max(at, revoked_at);
    } else {
        revoked_sessions_[subject] = revoked_at;
    }
    // Sessions and token ids matter only while a token naming them can still be valid: external tokens are not
    // bounded by us, so keep a day's worth.
    constexpr std::int64_t kKeepSeconds = 86400;
    if (revoked_sessions_.size() > 10000) {
        for (auto it = revoked_sessions_.begin(); it != revoked_sessions_.end();)
            it = it->second < revoked_at - kKeepSeconds ? revoked_sessions_.erase(it) : std::next(it);
    }
}

AuthResult Auth::admit(const Identity &identity) const {
    auto u = per_user_.find(identity.user);
    if (u != per_user_.end() && u->second >= config_.max_connections_per_user)
        return refuse(429, "too_many_connections_for_user",
                      "this user already has " + std::to_string(u->second) +
                          " open sockets (--max-connections-per-user): close some first");
    auto i = per_ip_.find(identity.ip);
    if (i != per_ip_.end() && i->second >= config_.max_connections_per_ip)
        return refuse(429, "too_many_connections_for_address",
                      "this address already has " + std::to_string(i->second) +
                          " open sockets (--max-connections-per-ip)");
    return {};
}

void Auth::opened(const Identity &identity) {
    ++per_user_[identity.user];
    ++per_ip_[identity.ip];
}

void Auth::closed(const Identity &identity) {
    auto u = per_user_.find(identity.user);
    if (u != per_user_.end() && --u->second <= 0) per_user_.erase(u);
    auto i = per_ip_.find(identity.ip);
    if (i != per_ip_.end() && --i->second <= 0) per_ip_.erase(i);
}

bool Auth::allow_auth_request(const std::string &ip, std::int64_t now_ms) {
    const double per_minute = config_.auth_rate_limit;
    Bucket &b = auth_buckets_[ip];
    if (b.at_ms == 0) b.tokens = per_minute;
    b.tokens = std::min(per_minute, b.tokens + per_minute * static_cast<double>(now_ms - b.at_ms) / 60000.0);
    b.at_ms = now_ms;
    if (auth_buckets_.size() > 100000) { // bounded: forget full buckets
        for (auto it = auth_buckets_.begin(); it != auth_buckets_.end();)
            it = it->second.tokens >= per_minute - 1 && it->first != ip ? auth_buckets_.erase(it) : std::next(it);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

std::string cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        std::size_t semi = header.find(';');
        std::string_view pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
            return std::string(trim(pair.substr(eq + 1)));
    }
    return {};
}

std::string bearer_token(std::string_view header) {
    header = trim(header);
    if (header.size() < 7 || !iequals(header.substr(0, 7), "bearer ")) return {};
    return std::string(trim(header.substr(7)));
}

bool query_has_token(std::string_view query) {
    static const char *const names[] = {"access_token", "token", "jwt", "id_token", "auth", "authorization", "bearer"};
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        std::string_view name = item.substr(0, item.find('='));
        for (const char *n : names)
            if (iequals(name, n)) return true;
    }
    return false;
}

} // namespace collab::bridge
