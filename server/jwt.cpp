#include "jwt.hpp"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>

namespace collab::bridge::jwt {

namespace {

constexpr std::size_t kMinHs256SecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr std::size_t kMaxKeyFileBytes = 1 << 20;
constexpr int kMaxLeewaySeconds = 60;
constexpr const char *kP256GroupName = "prime256v1";

// ---- small RAII helpers ----

struct JsonDecref {
    void operator()(json_t *j) const noexcept { json_decref(j); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

struct BioFree {
    void operator()(BIO *b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX *c) const noexcept { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX *c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct BnFree {
    void operator()(BIGNUM *b) const noexcept { BN_free(b); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG *s) const noexcept { ECDSA_SIG_free(s); }
};
struct ParamBldFree {
    void operator()(OSSL_PARAM_BLD *b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
    void operator()(OSSL_PARAM *p) const noexcept { OSSL_PARAM_free(p); }
};

std::shared_ptr<EVP_PKEY> wrap_pkey(EVP_PKEY *k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }

// ---- base64url (RFC 4648 section 5, no padding; strict: canonical trailing bits) ----

int b64url_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

std::optional<std::string> b64url_decode(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : in) {
        const int v = b64url_value(static_cast<unsigned char>(ch));
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
        acc &= (1u << bits) - 1;
    }
    if (acc != 0) return std::nullopt; // non-zero padding bits: not the canonical encoding
    return out;
}

// ---- messages ----

// An attacker-controlled value, made safe and short for a message.
std::string shown(std::string_view s) {
    constexpr std::size_t kMax = 40;
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        out.push_back(c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? static_cast<char>(c) : '?');
    }
    if (s.size() > kMax) out += "...";
    return out;
}

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    return buf;
}

// ---- keys ----

// Classifies a public key and returns the algorithm it is pinned to, or throws std::invalid_argument.
Alg pinned_alg(EVP_PKEY *k, const std::string &what) {
    if (EVP_PKEY_is_a(k, "RSA")) {
        const int bits = EVP_PKEY_get_bits(k);
        if (bits < kMinRsaBits)
            throw std::invalid_argument(what + ": the RSA key has " + std::to_string(bits) +
                                        " bits; RS256 keys need at least 2048 bits: generate a larger key");
        return Alg::RS256;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char group[80] = {0};
        std::size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
            ERR_clear_error();
            throw std::invalid_argument(what + ": the EC key has no named curve; only P-256 (ES256) is supported");
        }
        if (std::strcmp(group, kP256GroupName) != 0)
            throw std::invalid_argument(what + ": the EC key is on curve " + group +
                                        "; only P-256 (prime256v1, ES256) is supported: use a P-256 key");
        return Alg::ES256;
    }
    const char *type = EVP_PKEY_get0_type_name(k);
    throw std::invalid_argument(what + ": unsupported key type " + (type ? type : "(unknown)") +
                                "; use an RSA key of at least 2048 bits (RS256) or an EC P-256 key (ES256)");
}

void check_public_key(EVP_PKEY *k, const std::string &what) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1)
        throw std::invalid_argument(what + ": the public key is not valid (" + openssl_error() + ")");
}

int no_passphrase(char *, int, int, void *) { return 0; }

std::shared_ptr<EVP_PKEY> load_pem_public_key(std::string_view pem, const std::string &what) {
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos)
        throw std::invalid_argument(what + " is a private key: give the bridge only the public key "
                                           "(openssl pkey -in KEY.pem -pubout -out PUBLIC.pem)");
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos)
        throw std::invalid_argument(what + " is a certificate: extract its public key "
                                           "(openssl x509 -in CERT.pem -pubkey -noout > PUBLIC.pem)");
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::invalid_argument(what + " is too large");
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::runtime_error("BIO_new_mem_buf failed");
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
    if (k == nullptr) {
        ERR_clear_error();
        throw std::invalid_argument(what + " is not a PEM public key: expected -----BEGIN PUBLIC KEY----- "
                                           "(for -----BEGIN RSA PUBLIC KEY-----, convert with "
                                           "openssl rsa -RSAPublicKey_in -in KEY.pem -pubout)");
    }
    return wrap_pkey(k); // the caller classifies it (pinned_alg), then checks it (check_public_key)
}

// Builds a public EVP_PKEY of the given type ("RSA", "EC") from OSSL_PARAMs.
std::shared_ptr<EVP_PKEY> pkey_from_params(const char *type, const OSSL_PARAM *params, const std::string &what) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY *k = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM *>(params)) != 1 || !k)
        throw std::invalid_argument(what + ": the key parameters do not form a valid " + type + " public key (" +
                                    openssl_error() + ")");
    auto key = wrap_pkey(k);
    check_public_key(key.get(), what);
    return key;
}

std::string jwk_b64_member(json_t *jwk, const char *name, const std::string &what) {
    json_t *v = json_object_get(jwk, name);
    if (!json_is_string(v)) throw std::invalid_argument(what + ": \"" + name + "\" is missing or not a string");
    auto bytes = b64url_decode(std::string_view(json_string_value(v), json_string_length(v)));
    if (!bytes || bytes->empty())
        throw std::invalid_argument(what + ": \"" + name + "\" is not valid base64url (RFC 7515, no padding)");
    return *bytes;
}

std::unique_ptr<BIGNUM, BnFree> to_bn(const std::string &bytes) {
    std::unique_ptr<BIGNUM, BnFree> bn(
        BN_bin2bn(reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
    if (!bn) throw std::runtime_error("BN_bin2bn failed");
    return bn;
}

std::shared_ptr<EVP_PKEY> rsa_from_jwk(json_t *jwk, const std::string &what) {
    const std::string n = jwk_b64_member(jwk, "n", what);
    const std::string e = jwk_b64_member(jwk, "e", what);
    auto bn_n = to_bn(n);
    auto bn_e = to_bn(e);
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
        throw std::runtime_error("OSSL_PARAM_BLD failed: " + openssl_error());
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) throw std::runtime_error("OSSL_PARAM_BLD_to_param failed: " + openssl_error());
    return pkey_from_params("RSA", params.get(), what);
}

std::shared_ptr<EVP_PKEY> ec_from_jwk(json_t *jwk, const std::string &what) {
    json_t *crv = json_object_get(jwk, "crv");
    if (!json_is_string(crv) || std::strcmp(json_string_value(crv), "P-256") != 0)
        throw std::invalid_argument(what + ": \"crv\" must be \"P-256\" (only ES256 is supported)");
    const std::string x = jwk_b64_member(jwk, "x", what);
    const std::string y = jwk_b64_member(jwk, "y", what);
    if (x.size() != 32 || y.size() != 32)
        throw std::invalid_argument(what + ": \"x\" and \"y\" must each be 32 bytes for P-256 (RFC 7518 6.2.1.2)");
    std::string point;
    point.reserve(65);
    point.push_back('\x04'); // uncompressed
    point += x;
    point += y;
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kP256GroupName, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
        throw std::runtime_error("OSSL_PARAM_BLD failed: " + openssl_error());
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) throw std::runtime_error("OSSL_PARAM_BLD_to_param failed: " + openssl_error());
    return pkey_from_params("EC", params.get(), what);
}

// ---- signatures ----

bool verify_hs256(const std::string &secret, std::string_view input, const std::string &sig) {
    if (sig.size() != 32) return false;
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                  reinterpret_cast<const unsigned char *>(input.data()), input.size(), mac, sizeof(mac),
                  &len) == nullptr) {
        ERR_clear_error();
        return false;
    }
    return len == 32 && CRYPTO_memcmp(mac, sig.data(), 32) == 0;
}

bool digest_verify_sha256(EVP_PKEY *pkey, bool rsa, std::string_view input, const unsigned char *sig,
                          std::size_t sig_len) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    EVP_PKEY_CTX *pctx = nullptr; // owned by ctx
    bool ok = EVP_DigestVerifyInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, pkey, nullptr) == 1;
    if (ok && rsa) ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (ok)
        ok = EVP_DigestVerify(ctx.get(), sig, sig_len, reinterpret_cast<const unsigned char *>(input.data()),
                              input.size()) == 1;
    ERR_clear_error();
    return ok;
}

bool verify_rs256(EVP_PKEY *pkey, std::string_view input, const std::string &sig) {
    if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey))) return false;
    return digest_verify_sha256(pkey, true, input, reinterpret_cast<const unsigned char *>(sig.data()), sig.size());
}

// JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 3.4); OpenSSL wants a DER ECDSA-Sig-Value.
bool verify_es256(EVP_PKEY *pkey, std::string_view input, const std::string &sig) {
    if (sig.size() != 64) return false;
    const auto *raw = reinterpret_cast<const unsigned char *>(sig.data());
    std::unique_ptr<BIGNUM, BnFree> r(BN_bin2bn(raw, 32, nullptr));
    std::unique_ptr<BIGNUM, BnFree> s(BN_bin2bn(raw + 32, 32, nullptr));
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> es(ECDSA_SIG_new());
    if (!r || !s || !es || ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) {
        ERR_clear_error();
        return false;
    }
    r.release(); // owned by es now
    s.release();
    const int der_len = i2d_ECDSA_SIG(es.get(), nullptr);
    if (der_len <= 0) {
        ERR_clear_error();
        return false;
    }
    std::string der(static_cast<std::size_t>(der_len), '\0');
    auto *p = reinterpret_cast<unsigned char *>(der.data());
    if (i2d_ECDSA_SIG(es.get(), &p) != der_len) {
        ERR_clear_error();
        return false;
    }
    return digest_verify_sha256(pkey, false, input, reinterpret_cast<const unsigned char *>(der.data()), der.size());
}

bool verify_signature(const Key &key, std::string_view input, const std::string &sig) {
    switch (key.alg) {
    case Alg::HS256:
        return verify_hs256(key.secret, input, sig);
    case Alg::RS256:
        return key.pkey && verify_rs256(key.pkey.get(), input, sig);
    case Alg::ES256:
        return key.pkey && verify_es256(key.pkey.get(), input, sig);
    }
    return false;
}

// ---- claims ----

JsonPtr parse_object(const std::string &text) {
    json_error_t err;
    JsonPtr j(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &err));
    if (!j || !json_is_object(j.get())) return nullptr;
    return j;
}

// A NumericDate as whole seconds (fractions rounded down, saturating).
std::int64_t numeric_date(json_t *v) {
    if (json_is_integer(v)) return static_cast<std::int64_t>(json_integer_value(v));
    const double d = std::floor(json_real_value(v));
    if (!(d > -9.2e18)) return std::numeric_limits<std::int64_t>::min();
    if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(d);
}

VerifyResult failure(const char *code, std::string message) {
    VerifyResult r;
    r.ok = false;
    r.error = code;
    r.message = std::move(message);
    return r;
}

bool string_equals(json_t *v, const std::string &expected) {
    return json_is_string(v) && json_string_length(v) == expected.size() &&
           std::memcmp(json_string_value(v), expected.data(), expected.size()) == 0;
}

// Optional string claim: absent leaves out unchanged; present must be a string.
bool optional_string(json_t *payload, const char *name, std::string &out) {
    json_t *v = json_object_get(payload, name);
    if (v == nullptr) return true;
    if (!json_is_string(v)) return false;
    out.assign(json_string_value(v), json_string_length(v));
    return true;
}

} // namespace

const char *alg_name(Alg alg) {
    switch (alg) {
    case Alg::HS256:
        return "HS256";
    case Alg::RS256:
        return "RS256";
    case Alg::ES256:
        return "ES256";
    }
    return "?";
}

std::optional<Alg> alg_from_name(std::string_view name) {
    if (name == "HS256") return Alg::HS256;
    if (name == "RS256") return Alg::RS256;
    if (name == "ES256") return Alg::ES256;
    return std::nullopt;
}

// ---- KeySet ----

void KeySet::check_kids_unique(const std::vector<Key> &incoming, bool replacing_builtin) const {
    std::set<std::string> seen;
    for (const Key &k : keys_)
        if (!k.kid.empty() && !(replacing_builtin && k.builtin())) seen.insert(k.kid);
    for (const Key &k : incoming) {
        if (k.kid.empty()) continue;
        if (!seen.insert(k.kid).second)
            throw std::invalid_argument("kid \"" + k.kid + "\" (" + k.label +
                                        ") is already used by another key: each key needs a unique kid");
    }
}

void KeySet::add_hs256_secret(std::string secret, std::string issuer, std::string audience, std::string kid) {
    if (secret.size() < kMinHs256SecretBytes)
        throw std::invalid_argument("the HS256 secret is " + std::to_string(secret.size()) +
                                    " bytes; it must be at least 32 random bytes (RFC 8725 3.5), not a password: "
                                    "generate one with `openssl rand -base64 48`");
    Key k;
    k.kid = std::move(kid);
    k.alg = Alg::HS256;
    k.secret = std::move(secret);
    k.issuer = std::move(issuer);
    k.audience = std::move(audience);
    k.label = "hs256-secret-file";
    std::vector<Key> incoming{std::move(k)};
    check_kids_unique(incoming, false);
    keys_.push_back(std::move(incoming.front()));
}

void KeySet::add_public_key_pem(std::string_view pem, std::string issuer, std::string audience, std::string kid,
                                std::string label) {
    const std::string what = "the " + label + " key" + (kid.empty() ? std::string() : " \"" + kid + "\"");
    Key k;
    k.pkey = load_pem_public_key(pem, what);
    k.alg = pinned_alg(k.pkey.get(), what);
    check_public_key(k.pkey.get(), what);
    k.kid = std::move(kid);
    k.issuer = std::move(issuer);
    k.audience = std::move(audience);
    k.label = std::move(label);
    std::vector<Key> incoming{std::move(k)};
    check_kids_unique(incoming, false);
    keys_.push_back(std::move(incoming.front()));
}

void KeySet::add_jwks(std::string_view json, std::string issuer, std::string audience) {
    json_error_t err;
    JsonPtr root(json_loadb(json.data(), json.size(), JSON_REJECT_DUPLICATES, &err));
    if (!root)
        throw std::invalid_argument(std::string("the JWKS is not valid JSON (line ") + std::to_string(err.line) + ": " +
                                    err.text + ")");
    json_t *list = json_is_object(root.get()) ? json_object_get(root.get(), "keys") : nullptr;
    if (!json_is_array(list))
        throw std::invalid_argument("the JWKS must be a JSON object with a \"keys\" array (RFC 7517 section 5)");
    if (json_array_size(list) == 0) throw std::invalid_argument("the JWKS has no keys");

    std::vector<Key> incoming;
    for (std::size_t i = 0; i < json_array_size(list); ++i) {
        json_t *jwk = json_array_get(list, i);
        std::string what = "JWKS key #" + std::to_string(i);
        if (!json_is_object(jwk)) throw std::invalid_argument(what + " is not a JSON object");
        Key k;
        json_t *kid = json_object_get(jwk, "kid");
        if (kid != nullptr) {
            if (!json_is_string(kid)) throw std::invalid_argument(what + ": \"kid\" must be a string");
            k.kid = json_string_value(kid);
            what += " (kid \"" + k.kid + "\")";
        }
        if (json_object_get(jwk, "d") != nullptr)
            throw std::invalid_argument(what + " is a private key (it has \"d\"): publish only public keys "
                                               "in the JWKS given to the bridge");
        json_t *kty = json_object_get(jwk, "kty");
        if (!json_is_string(kty)) throw std::invalid_argument(what + ": \"kty\" is missing or not a string");
        const std::string type = json_string_value(kty);
        if (type == "RSA") {
            k.alg = Alg::RS256;
        } else if (type == "EC") {
            k.alg = Alg::ES256;
        } else if (type == "oct") {
            throw std::invalid_argument(what + ": symmetric keys (kty \"oct\") are not accepted in a JWKS; "
                                               "configure an HS256 secret file instead");
        } else {
            throw std::invalid_argument(what + ": unsupported kty \"" + type + "\"; use RSA (RS256) or EC (ES256)");
        }
        json_t *alg = json_object_get(jwk, "alg");
        if (alg != nullptr && !string_equals(alg, alg_name(k.alg)))
            throw std::invalid_argument(what + ": \"alg\" must be \"" + alg_name(k.alg) + "\" for a " + type +
                                        " key (only RS256 and ES256 are supported)");
        json_t *use = json_object_get(jwk, "use");
        if (use != nullptr && !string_equals(use, "sig"))
            throw std::invalid_argument(what + ": \"use\" must be \"sig\" (this key is not for signatures)");
        json_t *ops = json_object_get(jwk, "key_ops");
        if (ops != nullptr) {
            bool verify_op = false;
            if (json_is_array(ops))
                for (std::size_t j = 0; j < json_array_size(ops); ++j)
                    verify_op = verify_op || string_equals(json_array_get(ops, j), "verify");
            if (!verify_op) throw std::invalid_argument(what + ": \"key_ops\" does not include \"verify\"");
        }
        k.pkey = k.alg == Alg::RS256 ? rsa_from_jwk(jwk, what) : ec_from_jwk(jwk, what);
        if (pinned_alg(k.pkey.get(), what) != k.alg) throw std::invalid_argument(what + ": key type mismatch");
        k.issuer = issuer;
        k.audience = audience;
        k.label = "jwks";
        incoming.push_back(std::move(k));
    }
    check_kids_unique(incoming, false);
    keys_.insert(keys_.end(), std::make_move_iterator(incoming.begin()), std::make_move_iterator(incoming.end()));
}

void KeySet::replace_builtin(const std::vector<BuiltinKey> &builtin) {
    std::vector<Key> incoming;
    for (std::size_t i = 0; i < builtin.size(); ++i) {
        const BuiltinKey &b = builtin[i];
        const std::string what =
            "built-in key #" + std::to_string(i) + (b.kid.empty() ? "" : " (kid \"" + b.kid + "\")");
        Key k;
        k.pkey = load_pem_public_key(b.public_key_pem, what);
        if (pinned_alg(k.pkey.get(), what) != Alg::ES256)
            throw std::invalid_argument(what + ": built-in keys must be EC P-256 (ES256) keys");
        check_public_key(k.pkey.get(), what);
        k.alg = Alg::ES256;
        k.kid = b.kid;
        k.issuer = kBuiltinIssuer;
        k.audience = kBuiltinAudience;
        k.label = "builtin";
        incoming.push_back(std::move(k));
    }
    check_kids_unique(incoming, true);
    std::vector<Key> next;
    next.reserve(keys_.size() + incoming.size());
    for (const Key &k : keys_)
        if (!k.builtin()) next.push_back(k);
    next.insert(next.end(), std::make_move_iterator(incoming.begin()), std::make_move_iterator(incoming.end()));
    keys_.swap(next); // noexcept: the set changes only here
}

std::string KeySet::read_key_file(const std::string &path) {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw std::runtime_error("cannot read key file " + path + ": " + std::strerror(errno));
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
        out.append(buf, n);
        if (out.size() > kMaxKeyFileBytes) {
            std::fclose(f);
            throw std::runtime_error("cannot read key file " + path + ": larger than 1 MiB, not a key file");
        }
    }
    if (std::ferror(f)) {
        const int e = errno;
        std::fclose(f);
        throw std::runtime_error("cannot read key file " + path + ": " + std::strerror(e));
    }
    std::fclose(f);
    return out;
}

std::string KeySet::read_secret_file(const std::string &path) {
    std::string s = read_key_file(path);
    if (!s.empty() && s.back() == '\n') {
        s.pop_back();
        if (!s.empty() && s.back() == '\r') s.pop_back();
    }
    return s;
}

// ---- verify ----

VerifyResult verify(const KeySet &keys, std::string_view token, const VerifyOptions &options) {
    // 1. Structure: three base64url parts, size limits, header and payload JSON objects.
    if (token.empty()) return failure(kTokenMalformed, "the token is empty");
    if (token.size() > options.max_token_bytes)
        return failure(kTokenMalformed,
                       "the token is longer than " + std::to_string(options.max_token_bytes) + " bytes");
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return failure(kTokenMalformed, "the token is not three base64url parts separated by dots (JWS compact)");
    const std::string_view header_b64 = token.substr(0, dot1);
    const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view sig_b64 = token.substr(dot2 + 1);
    if (header_b64.empty() || payload_b64.empty()) return failure(kTokenMalformed, "the token has an empty part");
    if (header_b64.size() > (kMaxHeaderBytes + 2) / 3 * 4)
        return failure(kTokenMalformed,
                       "the token header is larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
    const auto header_json = b64url_decode(header_b64);
    const auto payload_json = b64url_decode(payload_b64);
    const auto sig = b64url_decode(sig_b64);
    if (!header_json || !payload_json || !sig) return failure(kTokenMalformed, "the token is not valid base64url");
    if (header_json->size() > kMaxHeaderBytes)
        return failure(kTokenMalformed,
                       "the token header is larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
    const JsonPtr header = parse_object(*header_json);
    if (!header) return failure(kTokenMalformed, "the token header is not a JSON object");

    // 2. Header: alg from the allowed list, typ, crit.
    json_t *alg_v = json_object_get(header.get(), "alg");
    if (!json_is_string(alg_v)) return failure(kTokenAlgNotAllowed, "the token header has no alg");
    const std::string_view alg_s(json_string_value(alg_v), json_string_length(alg_v));
    const auto alg = alg_from_name(alg_s);
    if (!alg)
        return failure(kTokenAlgNotAllowed,
                       "alg \"" + shown(alg_s) + "\" is not allowed (only HS256, RS256 and ES256)");
    json_t *typ = json_object_get(header.get(), "typ");
    // "JWT", or the access-token media type of RFC 9068 that identity providers use.
    if (typ != nullptr && !string_equals(typ, "JWT") && !string_equals(typ, "at+jwt") &&
        !string_equals(typ, "application/at+jwt"))
        return failure(kTokenTypInvalid, "the token header's typ must be \"JWT\" (or \"at+jwt\")");
    if (json_object_get(header.get(), "crit") != nullptr)
        return failure(kTokenMalformed, "the token header has crit: no JWS extensions are supported");

    // 3. Key: by kid among our own keys; a key configured without a kid (a secret or PEM file) takes the tokens of
    // its alg whatever kid they name, when it is the only such key. Built-in tokens always name their key. Never
    // from jku/x5u/x5c/jwk.
    const Key *key = nullptr;
    json_t *kid_v = json_object_get(header.get(), "kid");
    std::string_view kid;
    if (kid_v != nullptr) {
        if (!json_is_string(kid_v)) return failure(kTokenMalformed, "the token header's kid is not a string");
        kid = std::string_view(json_string_value(kid_v), json_string_length(kid_v));
        for (const Key &k : keys.keys())
            if (!k.kid.empty() && k.kid == kid) {
                key = &k;
                break;
            }
    }
    if (key == nullptr) {
        std::size_t candidates = 0;
        for (const Key &k : keys.keys())
            if (k.alg == *alg && !k.builtin() && (kid_v == nullptr || k.kid.empty())) {
                key = &k;
                ++candidates;
            }
        if (candidates != 1) {
            if (kid_v != nullptr && candidates == 0)
                return failure(kTokenKeyUnknown, "no key has kid \"" + shown(kid) + "\"");
            return failure(
                kTokenKeyUnknown,
                std::string(kid_v != nullptr ? "the token's kid is unknown and " : "the token has no kid and ") +
                    (candidates == 0 ? "no key" : std::to_string(candidates) + " keys") + " accept " + alg_name(*alg) +
                    (candidates == 0 ? "" : ": the token must name its key with kid"));
        }
    }
    if (key->alg != *alg)
        return failure(kTokenAlgMismatch, std::string("the token's alg ") + alg_name(*alg) + " is not " +
                                              alg_name(key->alg) + ", the algorithm pinned to its key");

    // 4. Signature over "header.payload".
    if (!verify_signature(*key, token.substr(0, dot2), *sig))
        return failure(kTokenSignatureInvalid, "the token's signature is not valid");

    // 5. Claims.
    const JsonPtr payload = parse_object(*payload_json);
    if (!payload) return failure(kTokenMalformed, "the token payload is not a JSON object");
    json_t *p = payload.get();
    const std::int64_t leeway = std::clamp(options.leeway_seconds, 0, kMaxLeewaySeconds);
    Claims c;
    c.builtin = key->builtin();
    c.kid = key->kid;

    json_t *exp = json_object_get(p, "exp");
    if (!json_is_number(exp)) return failure(kTokenExpMissing, "the token has no numeric exp claim");
    c.exp = numeric_date(exp);
    if (options.now - leeway >= c.exp) return failure(kTokenExpired, "the token has expired");

    json_t *nbf = json_object_get(p, "nbf");
    if (nbf != nullptr) {
        if (!json_is_number(nbf)) return failure(kTokenMalformed, "the token's nbf claim is not a number");
        c.nbf = numeric_date(nbf);
        if (options.now + leeway < c.nbf) return failure(kTokenNotYetValid, "the token is not valid yet (nbf)");
    }
    json_t *iat = json_object_get(p, "iat");
    if (iat != nullptr) {
        if (!json_is_number(iat)) return failure(kTokenMalformed, "the token's iat claim is not a number");
        c.iat = numeric_date(iat);
    }

    json_t *iss = json_object_get(p, "iss");
    if (iss != nullptr) {
        if (!json_is_string(iss)) return failure(kTokenIssuerInvalid, "the token's iss claim is not a string");
        c.iss.assign(json_string_value(iss), json_string_length(iss));
    }
    if (!key->issuer.empty() && (iss == nullptr || c.iss != key->issuer))
        return failure(kTokenIssuerInvalid, "the token's issuer is not the one expected for its key");

    if (!key->audience.empty()) {
        json_t *aud = json_object_get(p, "aud");
        bool match = string_equals(aud, key->audience);
        if (json_is_array(aud))
            for (std::size_t i = 0; i < json_array_size(aud) && !match; ++i)
                match = string_equals(json_array_get(aud, i), key->audience);
        if (!match) return failure(kTokenAudienceInvalid, "the token's audience does not include this service");
    }

    json_t *sub = json_object_get(p, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0)
        return failure(kTokenSubMissing, "the token has no sub claim (a non-empty string)");
    c.sub.assign(json_string_value(sub), json_string_length(sub));

    if (!options.org_claim.empty() && !optional_string(p, options.org_claim.c_str(), c.org))
        return failure(kTokenMalformed, "the token's " + shown(options.org_claim) + " claim is not a string");
    if (!optional_string(p, "sid", c.sid)) return failure(kTokenMalformed, "the token's sid claim is not a string");
    if (!optional_string(p, "jti", c.jti)) return failure(kTokenMalformed, "the token's jti claim is not a string");

    VerifyResult r;
    r.ok = true;
    r.claims = std::move(c);
    return r;
}

} // namespace collab::bridge::jwt
