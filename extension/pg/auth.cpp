// pg_collab token service, the C++ half: random tokens, ES256 signing keys and JWT signing (OpenSSL 3).
//
// These functions only compute; extension/sql/50_auth.sql stores the keys, login tickets, sessions, refresh tokens
// and revocations. All of them are internal (no EXECUTE for anyone but the extension owner): the SECURITY DEFINER
// functions of 50_auth.sql call them. OpenSSL and jansson never call PostgreSQL, so only argument and result handling
// goes through pg_guard(); OpenSSL failures become C++ exceptions that the trampoline turns into an ERROR.
#include "pg.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "json.hpp"

namespace {

using namespace collab;
using namespace collab::pg;

struct PkeyFree {
    void operator()(EVP_PKEY *p) const noexcept { EVP_PKEY_free(p); }
};
struct BioFree {
    void operator()(BIO *b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX *c) const noexcept { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG *s) const noexcept { ECDSA_SIG_free(s); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// The server's own TLS code shares this thread's OpenSSL error queue: we leave it empty, whatever happens.
struct OpenSslErrorScope {
    OpenSslErrorScope() { ERR_clear_error(); }
    ~OpenSslErrorScope() { ERR_clear_error(); }
    OpenSslErrorScope(const OpenSslErrorScope &) = delete;
    OpenSslErrorScope &operator=(const OpenSslErrorScope &) = delete;
};

[[noreturn]] void openssl_failed(const char *what) {
    const unsigned long code = ERR_get_error();
    char reason[256] = "no OpenSSL error reported";
    if (code != 0) ERR_error_string_n(code, reason, sizeof(reason));
    ERR_clear_error();
    throw std::runtime_error(std::string("pg_collab: ") + what + " failed: " + reason);
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char *>(out.data()), static_cast<int>(n)) != 1)
        openssl_failed("RAND_bytes");
    return out;
}

// RFC 4648 section 5, without padding (JWT, RFC 7515 section 2).
std::string base64url(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                           static_cast<unsigned char>(in[i + 2]);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        if (rest == 2) out += alphabet[v >> 6 & 63];
    }
    return out;
}

std::string hex(std::string_view in) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(in.size() * 2);
    for (const char c : in) {
        out += digits[static_cast<unsigned char>(c) >> 4];
        out += digits[static_cast<unsigned char>(c) & 15];
    }
    return out;
}

std::string bio_contents(BIO *bio) {
    char *data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == nullptr) throw std::runtime_error("pg_collab: empty PEM output");
    return std::string(data, static_cast<std::size_t>(len));
}

// A private key never carries a passphrase here; refuse to prompt for one (OpenSSL's default would read the tty).
int no_passphrase(char *, int, int, void *) { return 0; }

// Parses a PEM private key and checks that it is an ECDSA key on P-256, the only key ES256 allows (RFC 7518 3.4).
PkeyPtr load_es256_private_key(const std::string &pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) openssl_failed("BIO_new_mem_buf");
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key) openssl_failed("reading the signing key");
    char group[64] = "";
    std::size_t group_len = 0;
    if (!EVP_PKEY_is_a(key.get(), "EC") || EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_len) != 1 ||
        std::strcmp(group, SN_X9_62_prime256v1) != 0)
        throw std::runtime_error("pg_collab: the signing key is not an ECDSA P-256 key");
    return key;
}

// ES256 (RFC 7518 section 3.4): ECDSA P-256 over SHA-256, the signature as the 64 bytes r || s (not DER).
std::string es256_sign(EVP_PKEY *key, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) openssl_failed("EVP_MD_CTX_new");
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) openssl_failed("EVP_DigestSignInit");
    const auto *data = reinterpret_cast<const unsigned char *>(input.data());
    std::size_t der_len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &der_len, data, input.size()) != 1) openssl_failed("EVP_DigestSign");
    std::vector<unsigned char> der(der_len);
    if (EVP_DigestSign(ctx.get(), der.data(), &der_len, data, input.size()) != 1) openssl_failed("EVP_DigestSign");
    const unsigned char *p = der.data();
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
    if (!sig) openssl_failed("d2i_ECDSA_SIG");
    const BIGNUM *r = nullptr, *s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    unsigned char raw[64];
    if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) openssl_failed("BN_bn2binpad");
    return std::string(reinterpret_cast<const char *>(raw), sizeof(raw));
}

} // namespace

// collab._random_token(nbytes) -> nbytes random bytes (OpenSSL's CSPRNG), base64url without padding
COLLAB_FUNCTION(collab_auth_random_token) {
    require_arg(fcinfo, 0, "nbytes");
    const std::int32_t n = PG_GETARG_INT32(0);
    if (n < 16 || n > 256)
        throw CollabError(Code::InvalidArgument, "nbytes must be between 16 and 256, got " + std::to_string(n));
    const OpenSslErrorScope errors;
    return text_datum(base64url(random_bytes(static_cast<std::size_t>(n))));
}

// collab._new_signing_key() -> table(kid, private_key_pem, public_key_pem): a new ES256 key pair; kid is 16 random
// bytes in hex. The private key is unencrypted PKCS#8 PEM, the public key SubjectPublicKeyInfo PEM.
COLLAB_FUNCTION(collab_auth_new_signing_key) {
    std::string kid, private_pem, public_pem;
    {
        const OpenSslErrorScope errors;
        PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        if (!key) openssl_failed("generating a P-256 key");
        BioPtr priv(BIO_new(BIO_s_mem()));
        BioPtr pub(BIO_new(BIO_s_mem()));
        if (!priv || !pub) openssl_failed("BIO_new");
        if (PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
            openssl_failed("PEM_write_bio_PrivateKey");
        if (PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1) openssl_failed("PEM_write_bio_PUBKEY");
        private_pem = bio_contents(priv.get());
        public_pem = bio_contents(pub.get());
        kid = hex(random_bytes(16));
    }
    Datum values[3] = {text_datum(kid), text_datum(private_pem), text_datum(public_pem)};
    bool nulls[3] = {false, false, false};
    return return_row(fcinfo, values, nulls);
}

// collab._sign_access_token(kid, private_key_pem, claims) -> a compact JWS (RFC 7515): the header
// {"alg":"ES256","typ":"JWT","kid":kid}, the claims object as the payload, signed with the key.
COLLAB_FUNCTION(collab_auth_sign_access_token) {
    require_arg(fcinfo, 0, "kid");
    require_arg(fcinfo, 1, "private_key_pem");
    require_arg(fcinfo, 2, "claims");
    const std::string kid = text_arg(fcinfo, 0);
    const std::string pem = text_arg(fcinfo, 1);
    if (kid.empty()) throw CollabError(Code::InvalidArgument, "kid must not be empty");
    JsonPtr claims = json_parse(jsonb_arg_text(fcinfo, 2), ErrorKind::InvalidArgument, "claims");
    if (!json_is_object(claims.get())) throw CollabError(Code::InvalidArgument, "claims must be a JSON object");

    JsonPtr header = json_own(json_new_object());
    json_object_set_new(header.get(), "alg", json_string("ES256"));
    json_object_set_new(header.get(), "typ", json_string("JWT"));
    json_object_set_new(header.get(), "kid", json_stringn(kid.data(), kid.size()));
    const std::string signing_input = base64url(json_dump(header.get())) + "." + base64url(json_dump(claims.get()));

    std::string signature;
    {
        const OpenSslErrorScope errors;
        PkeyPtr key = load_es256_private_key(pem);
        signature = es256_sign(key.get(), signing_input);
    }
    return text_datum(signing_input + "." + base64url(signature));
}

// collab._dev_login_enabled() -> the setting pg_collab.dev_login (read here, where the module that defines it is
// certainly loaded: current_setting() in SQL could meet an unloaded module's placeholder).
COLLAB_FUNCTION(collab_auth_dev_login_enabled) {
    (void)fcinfo;
    const char *value = nullptr;
    pg_guard([&] { value = GetConfigOption("pg_collab.dev_login", false, false); });
    return BoolGetDatum(value != nullptr && std::strcmp(value, "on") == 0);
}
