// collab-bridge: JWT (JWS compact serialisation) verification for the WebSocket handshake, following RFC 8725:
//   - one algorithm is pinned per key (HS256, RS256 or ES256); the header's alg is checked before any signature work
//     and must equal the selected key's pin, so an RSA public key can never be used as an HMAC secret;
//   - "none" and every other algorithm are rejected; typ, if present, must be "JWT"; crit is not supported;
//   - kid only selects among the keys configured here (jku, x5u, x5c and jwk header parameters are never used);
//   - exp is required; exp and nbf get a leeway of at most 60 s; iss and aud are checked per key.
// Signatures are verified with OpenSSL 3 EVP, JSON is parsed with jansson (duplicate member names are rejected).
// Loop thread only: a KeySet and verify() are not synchronised.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace collab::bridge::jwt {

enum class Alg { HS256, RS256, ES256 };

// "HS256", "RS256", "ES256"; and back (nullopt for anything else, including "none").
const char *alg_name(Alg alg);
std::optional<Alg> alg_from_name(std::string_view name);

// Issuer and audience of the built-in token service's tokens.
inline constexpr const char *kBuiltinIssuer = "pg_collab";
inline constexpr const char *kBuiltinAudience = "pg_collab";

// One verification key and the rules for the tokens it verifies.
struct Key {
    std::string kid;                // empty: the key has no id (selected by alg when it is the only key of its alg)
    Alg alg = Alg::HS256;           // the only algorithm this key verifies
    std::string secret;             // HS256: the secret bytes (>= 32)
    std::shared_ptr<EVP_PKEY> pkey; // RS256 / ES256: the public key
    std::string issuer;             // expected iss (empty: not checked)
    std::string audience;           // expected aud (empty: not checked)
    std::string label;              // where it came from: "builtin", "hs256-secret-file", "public-key-file", "jwks"

    bool builtin() const { return label == "builtin"; }
};

// A key of the built-in token service: ES256 (EC P-256), issuer and audience "pg_collab".
struct BuiltinKey {
    std::string kid;
    std::string public_key_pem; // -----BEGIN PUBLIC KEY----- (SubjectPublicKeyInfo)
};

// The configured keys. Every add_* validates everything first and throws std::invalid_argument (with what is wrong
// and what to do) without changing the set. Non-empty kids are unique across the whole set.
class KeySet {
  public:
    // HS256 with a secret of at least 32 bytes (RFC 8725 3.5: real entropy, never a password).
    void add_hs256_secret(std::string secret, std::string issuer, std::string audience, std::string kid = {});

    // A PEM public key (SubjectPublicKeyInfo): RSA of at least 2048 bits pins RS256, EC P-256 pins ES256.
    void add_public_key_pem(std::string_view pem, std::string issuer, std::string audience, std::string kid = {},
                            std::string label = "public-key-file");

    // A JWK Set ({"keys":[...]}) of RSA (n, e) and EC P-256 (crv, x, y) public keys. A key's "alg", if present, must
    // match its type (RS256 / ES256); "use", if present, must be "sig"; "key_ops", if present, must include "verify";
    // private keys (with "d") and symmetric keys are rejected. All keys are added or none.
    void add_jwks(std::string_view json, std::string issuer, std::string audience);

    // Replaces all built-in keys (label "builtin") with these ES256 keys, atomically: on an error the previous
    // built-in keys stay. An empty list removes them.
    void replace_builtin(const std::vector<BuiltinKey> &keys);

    const std::vector<Key> &keys() const { return keys_; }
    std::size_t size() const { return keys_.size(); }
    bool empty() const { return keys_.empty(); }

    // Reads a whole key file (at most 1 MiB). Throws std::runtime_error("cannot read key file PATH: strerror").
    static std::string read_key_file(const std::string &path);
    // read_key_file without one trailing "\n" or "\r\n" (for secret files written by `echo` or an editor).
    static std::string read_secret_file(const std::string &path);

  private:
    void check_kids_unique(const std::vector<Key> &incoming, bool replacing_builtin) const;

    std::vector<Key> keys_;
};

struct Claims {
    std::string sub, org, sid, jti, iss;
    std::int64_t iat = 0, nbf = 0, exp = 0; // 0: absent (exp is always present in a verified token)
    bool builtin = false;                   // verified with a built-in key
    std::string kid;                        // the kid of the key that verified it (may be empty)
};

struct VerifyOptions {
    std::int64_t now = 0;          // Unix seconds
    int leeway_seconds = 60;       // for exp and nbf; clamped to [0, 60]
    std::string org_claim = "org"; // the claim holding the organisation (a string; absent: empty)
    std::size_t max_token_bytes = 8192;
};

// Stable error codes (VerifyResult::error).
inline constexpr const char *kTokenMalformed = "token_malformed";
inline constexpr const char *kTokenAlgNotAllowed = "token_alg_not_allowed";
inline constexpr const char *kTokenTypInvalid = "token_typ_invalid";
inline constexpr const char *kTokenKeyUnknown = "token_key_unknown";
inline constexpr const char *kTokenAlgMismatch = "token_alg_mismatch";
inline constexpr const char *kTokenSignatureInvalid = "token_signature_invalid";
inline constexpr const char *kTokenExpMissing = "token_exp_missing";
inline constexpr const char *kTokenExpired = "token_expired";
inline constexpr const char *kTokenNotYetValid = "token_not_yet_valid";
inline constexpr const char *kTokenIssuerInvalid = "token_issuer_invalid";
inline constexpr const char *kTokenAudienceInvalid = "token_audience_invalid";
inline constexpr const char *kTokenSubMissing = "token_sub_missing";

struct VerifyResult {
    bool ok = false;
    std::string error;   // a stable machine code (kToken*), empty when ok
    std::string message; // for humans and logs; never contains the token
    Claims claims;       // filled when ok
};

// Header size limit (decoded JSON bytes).
inline constexpr std::size_t kMaxHeaderBytes = 2048;

VerifyResult verify(const KeySet &keys, std::string_view token, const VerifyOptions &options);

} // namespace collab::bridge::jwt
