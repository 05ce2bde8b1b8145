// GoogleTest tests of the bridge's JWT verification (server/jwt.cpp). Keys are generated here with OpenSSL; tokens
// are made by a small test-only signer.
#include "jwt.hpp"

#include <gtest/gtest.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace jwt = collab::bridge::jwt;
using jwt::Alg;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;
const std::string kIss = "https://idp.example";
const std::string kAud = "collab";

// ---- test-only encoding and signing ----

std::string b64url(std::string_view in) {
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(abc[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) out.push_back(abc[(acc << (6 - bits)) & 63]);
    return out;
}

std::string b64url_decode(std::string_view in) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                                       : 63;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

struct PkeyFree {
    void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string public_pem(EVP_PKEY *k) {
    BIO *bio = BIO_new(BIO_s_mem());
    EXPECT_EQ(PEM_write_bio_PUBKEY(bio, k), 1);
    char *data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string private_pem(EVP_PKEY *k) {
    BIO *bio = BIO_new(BIO_s_mem());
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr), 1);
    char *data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string bn_param(EVP_PKEY *k, const char *name, int pad = 0) {
    BIGNUM *bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &bn), 1) << name;
    std::string out(pad > 0 ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char *>(out.data()), static_cast<int>(out.size()));
    BN_free(bn);
    return out;
}

// The raw JWS signature bytes of input.
std::string hs256(std::string_view secret, std::string_view input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                        reinterpret_cast<const unsigned char *>(input.data()), input.size(), mac, sizeof(mac), &len),
              nullptr);
    return std::string(reinterpret_cast<char *>(mac), len);
}

std::string digest_sign(EVP_PKEY *k, std::string_view input) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EXPECT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, k, nullptr), 1);
    std::size_t len = 0;
    EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(input.data()), input.size()),
              1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char *>(sig.data()), &len,
                             reinterpret_cast<const unsigned char *>(input.data()), input.size()),
              1);
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
}

// ES256: DER from OpenSSL to the JWS r || s form.
std::string es256_raw(std::string_view der) {
    const auto *p = reinterpret_cast<const unsigned char *>(der.data());
    ECDSA_SIG *sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    EXPECT_NE(sig, nullptr);
    std::string out(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char *>(out.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char *>(out.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return out;
}

struct Signer {
    Alg alg;
    std::string secret;       // HS256
    EVP_PKEY *pkey = nullptr; // RS256, ES256 (private)
};

std::string sign_raw(const Signer &s, std::string_view input) {
    switch (s.alg) {
    case Alg::HS256:
        return hs256(s.secret, input);
    case Alg::RS256:
        return digest_sign(s.pkey, input);
    case Alg::ES256:
        return es256_raw(digest_sign(s.pkey, input));
    }
    return {};
}

std::string make_token(std::string_view header_json, std::string_view payload_json, const Signer &s) {
    const std::string input = b64url(header_json) + "." + b64url(payload_json);
    return input + "." + b64url(sign_raw(s, input));
}

// A token with its signature part replaced by these raw bytes.
std::string with_signature(const std::string &token, std::string_view raw_sig) {
    return token.substr(0, token.rfind('.') + 1) + b64url(raw_sig);
}

std::string signature_of(const std::string &token) { return b64url_decode(token.substr(token.rfind('.') + 1)); }

// JSON helpers: the default claims with some members replaced (overrides, a JSON object) or removed.
std::string dump(json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT);
    std::string out(s);
    std::free(s);
    return out;
}

std::string claims(std::string_view overrides = "{}", const std::vector<std::string> &remove = {},
                   const std::string &iss = kIss, const std::string &aud = kAud) {
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "iss", iss.c_str(), "aud", aud.c_str(), "sub",
                  "user-1", "iat", static_cast<json_int_t>(kNow - 10), "nbf", static_cast<json_int_t>(kNow - 10), "exp",
                  static_cast<json_int_t>(kNow + 300), "org", "org-7", "sid", "session-3", "jti", "token-9");
    json_error_t err;
    json_t *o = json_loadb(overrides.data(), overrides.size(), 0, &err);
    EXPECT_NE(o, nullptr) << err.text;
    json_object_update(c, o);
    json_decref(o);
    for (const auto &k : remove)
        json_object_del(c, k.c_str());
    std::string out = dump(c);
    json_decref(c);
    return out;
}

std::string header(Alg alg, std::string_view kid = {}) {
    std::string h = std::string(R"({"alg":")") + jwt::alg_name(alg) + R"(","typ":"JWT")";
    if (!kid.empty()) h += R"(,"kid":")" + std::string(kid) + "\"";
    return h + "}";
}

jwt::VerifyOptions opts(std::int64_t now = kNow) {
    jwt::VerifyOptions o;
    o.now = now;
    return o;
}

// ---- fixture: keys generated once ----

class JwtTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        rsa_.reset(EVP_RSA_gen(2048));
        ec1_.reset(EVP_EC_gen("P-256"));
        ec2_.reset(EVP_EC_gen("P-256"));
        ec3_.reset(EVP_EC_gen("P-256"));
        ASSERT_TRUE(rsa_ && ec1_ && ec2_ && ec3_);
        secret_.resize(32);
        ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char *>(secret_.data()), 32), 1);
    }
    static void TearDownTestSuite() {
        rsa_.reset();
        ec1_.reset();
        ec2_.reset();
        ec3_.reset();
    }

    static Signer hs() { return {Alg::HS256, secret_, nullptr}; }
    static Signer rs() { return {Alg::RS256, {}, rsa_.get()}; }
    static Signer es(EVP_PKEY *k) { return {Alg::ES256, {}, k}; }

    // Verifies and checks that a failure's message never contains the token.
    static jwt::VerifyResult check(const jwt::KeySet &ks, const std::string &token,
                                   const jwt::VerifyOptions &o = opts()) {
        jwt::VerifyResult r = jwt::verify(ks, token, o);
        if (!token.empty()) {
            EXPECT_EQ(r.message.find(token), std::string::npos);
        }
        const std::string sig_part = token.substr(token.rfind('.') + 1);
        if (sig_part.size() >= 8) {
            EXPECT_EQ(r.message.find(sig_part), std::string::npos);
        }
        if (r.ok) {
            EXPECT_TRUE(r.error.empty());
        }
        return r;
    }

    static Pkey rsa_;
    static Pkey ec1_, ec2_, ec3_;
    static std::string secret_;
};

Pkey JwtTest::rsa_;
Pkey JwtTest::ec1_;
Pkey JwtTest::ec2_;
Pkey JwtTest::ec3_;
std::string JwtTest::secret_;

// The result failed with exactly this code and a message.
::testing::AssertionResult HasError(const jwt::VerifyResult &r, const std::string &code) {
    if (r.ok) return ::testing::AssertionFailure() << "verified, expected " << code;
    if (r.error != code)
        return ::testing::AssertionFailure() << "got " << r.error << " (" << r.message << "), expected " << code;
    if (r.message.empty()) return ::testing::AssertionFailure() << code << " without a message";
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsOk(const jwt::VerifyResult &r) {
    if (r.ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << r.error << ": " << r.message;
}

#define EXPECT_ERROR(result, code) EXPECT_TRUE(HasError((result), (code)))
#define EXPECT_OK(result) EXPECT_TRUE(IsOk(result))

// ---- valid tokens ----

TEST_F(JwtTest, ValidHs256) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const auto r = check(ks, make_token(header(Alg::HS256), claims(), hs()));
    ASSERT_TRUE(r.ok) << r.error << ": " << r.message;
    EXPECT_EQ(r.claims.sub, "user-1");
    EXPECT_EQ(r.claims.org, "org-7");
    EXPECT_EQ(r.claims.sid, "session-3");
    EXPECT_EQ(r.claims.jti, "token-9");
    EXPECT_EQ(r.claims.iss, kIss);
    EXPECT_EQ(r.claims.iat, kNow - 10);
    EXPECT_EQ(r.claims.nbf, kNow - 10);
    EXPECT_EQ(r.claims.exp, kNow + 300);
    EXPECT_FALSE(r.claims.builtin);
    EXPECT_EQ(r.claims.kid, "");
}

TEST_F(JwtTest, ValidRs256) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(rsa_.get()), kIss, kAud, "rsa-1");
    ASSERT_EQ(ks.keys().at(0).alg, Alg::RS256);
    EXPECT_EQ(ks.keys().at(0).label, "public-key-file");
    const auto r = check(ks, make_token(header(Alg::RS256, "rsa-1"), claims(), rs()));
    ASSERT_TRUE(r.ok) << r.error << ": " << r.message;
    EXPECT_EQ(r.claims.sub, "user-1");
    EXPECT_EQ(r.claims.kid, "rsa-1");
    // Without kid: the only RS256 key.
    EXPECT_OK(check(ks, make_token(header(Alg::RS256), claims(), rs())));
}

TEST_F(JwtTest, ValidEs256) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud);
    ASSERT_EQ(ks.keys().at(0).alg, Alg::ES256);
    const auto r = check(ks, make_token(header(Alg::ES256), claims(), es(ec1_.get())));
    ASSERT_TRUE(r.ok) << r.error << ": " << r.message;
    EXPECT_EQ(r.claims.sub, "user-1");
    // typ is optional.
    EXPECT_OK(check(ks, make_token(R"({"alg":"ES256"})", claims(), es(ec1_.get()))));
}

TEST_F(JwtTest, IssuerAndAudienceNotCheckedWhenEmpty) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, "", "");
    EXPECT_OK(check(ks, make_token(header(Alg::HS256), claims("{}", {"iss", "aud"}), hs())));
    EXPECT_OK(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":"other","iss":"x"})"), hs())));
}

TEST_F(JwtTest, OrgClaimIsConfigurable) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    auto o = opts();
    o.org_claim = "https://example/tenant";
    auto r = check(ks, make_token(header(Alg::HS256), claims(R"({"https://example/tenant":"t-1"})"), hs()), o);
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.claims.org, "t-1");
    r = check(ks, make_token(header(Alg::HS256), claims("{}", {"org"}), hs()));
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.claims.org, "");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"org":42})"), hs())), "token_malformed");
}

// ---- algorithm attacks ----

TEST_F(JwtTest, AlgNoneRejected) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const std::string unsigned_input = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims());
    // With an empty signature part, and with some signature.
    EXPECT_ERROR(check(ks, unsigned_input + "."), "token_alg_not_allowed");
    EXPECT_ERROR(check(ks, unsigned_input + "." + b64url(hs256(secret_, unsigned_input))), "token_alg_not_allowed");
    // Without the signature part at all: not a JWS.
    EXPECT_ERROR(check(ks, unsigned_input), "token_malformed");
    for (const char *h : {R"({"alg":"None"})", R"({"alg":"NONE"})", R"({"alg":"HS512"})", R"({"alg":"PS256"})",
                          R"({"alg":"hs256"})", R"({"alg":7})", R"({"typ":"JWT"})", R"({"alg":null})"}) {
        const std::string input = b64url(h) + "." + b64url(claims());
        EXPECT_ERROR(check(ks, input + "." + b64url(hs256(secret_, input))), "token_alg_not_allowed") << h;
    }
}

TEST_F(JwtTest, Hs256WithRsaPublicKeyAsSecretIsRejected) {
    const std::string pem = public_pem(rsa_.get());
    const Signer attacker{Alg::HS256, pem, nullptr};
    {
        jwt::KeySet ks;
        ks.add_public_key_pem(pem, kIss, kAud);
        // No kid: there is no HS256 key at all.
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(), attacker)), "token_key_unknown");
    }
    {
        jwt::KeySet ks;
        ks.add_public_key_pem(pem, kIss, kAud, "rsa-1");
        // The kid selects the RSA key, pinned to RS256.
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256, "rsa-1"), claims(), attacker)), "token_alg_mismatch");
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(), attacker)), "token_key_unknown");
        // The same with the PEM without its trailing newline.
        const Signer attacker2{Alg::HS256, pem.substr(0, pem.size() - 1), nullptr};
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256, "rsa-1"), claims(), attacker2)), "token_alg_mismatch");
    }
    {
        // With an HS256 key configured too, the token selects it and fails its signature.
        jwt::KeySet ks;
        ks.add_public_key_pem(pem, kIss, kAud, "rsa-1");
        ks.add_hs256_secret(secret_, kIss, kAud, "hs-1");
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(), attacker)), "token_signature_invalid");
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256, "rsa-1"), claims(), attacker)), "token_alg_mismatch");
    }
}

TEST_F(JwtTest, AlgMismatchBetweenAsymmetricKeys) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud, "ec-1");
    EXPECT_ERROR(check(ks, make_token(header(Alg::RS256, "ec-1"), claims(), rs())), "token_alg_mismatch");
    EXPECT_ERROR(check(ks, make_token(header(Alg::RS256), claims(), rs())), "token_key_unknown");
}

TEST_F(JwtTest, EmbeddedJwkAndJkuAreIgnored) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud);
    // Signed with the attacker's key, which the header offers in every way: none of it is used.
    const std::string x = b64url(bn_param(ec3_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
    const std::string y = b64url(bn_param(ec3_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    const std::string h = R"({"alg":"ES256","jku":"https://evil.example/jwks","x5u":"https://evil.example/c",)"
                          R"("jwk":{"kty":"EC","crv":"P-256","x":")" +
                          x + R"(","y":")" + y + R"("}})";
    EXPECT_ERROR(check(ks, make_token(h, claims(), es(ec3_.get()))), "token_signature_invalid");
    // The same header with our key's signature is fine (the parameters are ignored, not rejected).
    EXPECT_OK(check(ks, make_token(h, claims(), es(ec1_.get()))));
}

TEST_F(JwtTest, TypMustBeJwt) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    for (const char *h :
         {R"({"alg":"HS256","typ":"JWS"})", R"({"alg":"HS256","typ":"jwt"})", R"({"alg":"HS256","typ":"AT+JWT"})",
          R"({"alg":"HS256","typ":1})", R"({"alg":"HS256","typ":null})"})
        EXPECT_ERROR(check(ks, make_token(h, claims(), hs())), "token_typ_invalid") << h;
    // RFC 9068 access tokens, as identity providers issue them.
    for (const char *h : {R"({"alg":"HS256","typ":"at+jwt"})", R"({"alg":"HS256","typ":"application/at+jwt"})"})
        EXPECT_TRUE(check(ks, make_token(h, claims(), hs())).ok) << h;
}

TEST_F(JwtTest, CritAndDuplicateMembersRejected) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    EXPECT_ERROR(check(ks, make_token(R"({"alg":"HS256","crit":["exp"],"exp":1})", claims(), hs())), "token_malformed");
    EXPECT_ERROR(check(ks, make_token(R"({"alg":"none","alg":"HS256"})", claims(), hs())), "token_malformed");
    const std::string dup = R"({"sub":"a","sub":"b","exp":)" + std::to_string(kNow + 60) + "}";
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), dup, hs())), "token_malformed");
}

// ---- time claims ----

TEST_F(JwtTest, ExpiryWithLeeway) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const auto tok = [&](std::int64_t exp) {
        return make_token(header(Alg::HS256), claims(R"({"exp":)" + std::to_string(exp) + "}"), hs());
    };
    EXPECT_ERROR(check(ks, tok(kNow - 61)), "token_expired");
    EXPECT_ERROR(check(ks, tok(kNow - 60)), "token_expired");
    EXPECT_OK(check(ks, tok(kNow - 59)));
    EXPECT_OK(check(ks, tok(kNow - 30)));
    EXPECT_ERROR(check(ks, tok(kNow - 3600)), "token_expired");
    auto strict = opts();
    strict.leeway_seconds = 0;
    EXPECT_ERROR(check(ks, tok(kNow), strict), "token_expired");
    EXPECT_OK(check(ks, tok(kNow + 1), strict));
    // A leeway over 60 s is clamped to 60.
    auto lax = opts();
    lax.leeway_seconds = 3600;
    EXPECT_ERROR(check(ks, tok(kNow - 100), lax), "token_expired");
    // Fractional NumericDate.
    EXPECT_OK(check(ks, make_token(header(Alg::HS256), claims(R"({"exp":1800000100.5})"), hs())));
}

TEST_F(JwtTest, NotBefore) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const auto tok = [&](std::int64_t nbf) {
        return make_token(header(Alg::HS256), claims(R"({"nbf":)" + std::to_string(nbf) + "}"), hs());
    };
    EXPECT_ERROR(check(ks, tok(kNow + 120)), "token_not_yet_valid");
    EXPECT_ERROR(check(ks, tok(kNow + 61)), "token_not_yet_valid");
    EXPECT_OK(check(ks, tok(kNow + 60)));
    EXPECT_OK(check(ks, tok(kNow + 30)));
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"nbf":"soon"})"), hs())), "token_malformed");
}

TEST_F(JwtTest, ExpMissingOrNotANumber) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims("{}", {"exp"}), hs())), "token_exp_missing");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"exp":"1800000300"})"), hs())),
                 "token_exp_missing");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"exp":null})"), hs())), "token_exp_missing");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"exp":true})"), hs())), "token_exp_missing");
}

// ---- iss, aud, sub ----

TEST_F(JwtTest, Audience) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":"other"})"), hs())),
                 "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":"Collab"})"), hs())),
                 "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims("{}", {"aud"}), hs())), "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":["a","b"]})"), hs())),
                 "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":[]})"), hs())), "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":[["collab"]]})"), hs())),
                 "token_audience_invalid");
    EXPECT_OK(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":["other","collab"]})"), hs())));
    EXPECT_OK(check(ks, make_token(header(Alg::HS256), claims(R"({"aud":["collab"]})"), hs())));
}

TEST_F(JwtTest, Issuer) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"iss":"https://evil.example"})"), hs())),
                 "token_issuer_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims("{}", {"iss"}), hs())), "token_issuer_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"iss":["https://idp.example"]})"), hs())),
                 "token_issuer_invalid");
}

TEST_F(JwtTest, SubMissing) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims("{}", {"sub"}), hs())), "token_sub_missing");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"sub":""})"), hs())), "token_sub_missing");
    EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), claims(R"({"sub":12})"), hs())), "token_sub_missing");
}

// ---- signatures and structure ----

TEST_F(JwtTest, BadSignatureFlippedByte) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    ks.add_public_key_pem(public_pem(rsa_.get()), kIss, kAud);
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud);
    for (const Signer &s : {hs(), rs(), es(ec1_.get())}) {
        const std::string good = make_token(header(s.alg), claims(), s);
        ASSERT_TRUE(check(ks, good).ok) << jwt::alg_name(s.alg);
        for (std::size_t pos : {std::size_t{0}, signature_of(good).size() / 2, signature_of(good).size() - 1}) {
            std::string sig = signature_of(good);
            sig[pos] = static_cast<char>(sig[pos] ^ 0x01);
            EXPECT_ERROR(check(ks, with_signature(good, sig)), "token_signature_invalid") << jwt::alg_name(s.alg);
        }
        // A changed payload with the old signature.
        const std::string other = make_token(header(s.alg), claims(R"({"sub":"admin"})"), s);
        const std::string forged = other.substr(0, other.rfind('.')) + good.substr(good.rfind('.'));
        EXPECT_ERROR(check(ks, forged), "token_signature_invalid") << jwt::alg_name(s.alg);
        // No signature.
        EXPECT_ERROR(check(ks, good.substr(0, good.rfind('.') + 1)), "token_signature_invalid");
    }
}

TEST_F(JwtTest, Es256SignatureOfTheWrongLength) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud);
    const std::string good = make_token(header(Alg::ES256), claims(), es(ec1_.get()));
    ASSERT_TRUE(check(ks, good).ok);
    const std::string sig = signature_of(good);
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_ERROR(check(ks, with_signature(good, sig.substr(0, 63))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, with_signature(good, sig.substr(1))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, with_signature(good, sig + std::string(1, '\0'))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, with_signature(good, std::string(1, '\0') + sig)), "token_signature_invalid");
    // The DER form OpenSSL produces is not a JWS signature.
    const std::string input = good.substr(0, good.rfind('.'));
    EXPECT_ERROR(check(ks, with_signature(good, digest_sign(ec1_.get(), input))), "token_signature_invalid");
    // r = 0 or s = 0.
    EXPECT_ERROR(check(ks, with_signature(good, std::string(32, '\0') + sig.substr(32))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, with_signature(good, sig.substr(0, 32) + std::string(32, '\0'))), "token_signature_invalid");
}

TEST_F(JwtTest, Rs256SignatureOfTheWrongLength) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(rsa_.get()), kIss, kAud);
    const std::string good = make_token(header(Alg::RS256), claims(), rs());
    const std::string sig = signature_of(good);
    ASSERT_EQ(sig.size(), 256u);
    EXPECT_ERROR(check(ks, with_signature(good, sig.substr(1))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, with_signature(good, std::string(1, '\0') + sig)), "token_signature_invalid");
}

TEST_F(JwtTest, TruncatedToken) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const std::string good = make_token(header(Alg::HS256), claims(), hs());
    const std::size_t dot1 = good.find('.'), dot2 = good.rfind('.');
    EXPECT_ERROR(check(ks, good.substr(0, dot2)), "token_malformed");     // header.payload
    EXPECT_ERROR(check(ks, good.substr(0, dot1 + 1)), "token_malformed"); // header.
    EXPECT_ERROR(check(ks, good.substr(0, dot1)), "token_malformed");     // header
    EXPECT_ERROR(check(ks, good.substr(0, dot1 - 3)), "token_malformed"); // part of the header
    EXPECT_ERROR(check(ks, good.substr(dot1)), "token_malformed");        // .payload.sig
    const std::string cut_payload = good.substr(0, dot1 + 9) + good.substr(dot2);
    EXPECT_ERROR(check(ks, cut_payload), "token_signature_invalid"); // valid base64, different signing input
    // Cut in the middle of the payload and re-signed: the JSON is incomplete.
    const std::string input = good.substr(0, dot1 + 9);
    EXPECT_ERROR(check(ks, input + "." + b64url(hs256(secret_, input))), "token_malformed");
}

TEST_F(JwtTest, Garbage) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const std::string good = make_token(header(Alg::HS256), claims(), hs());
    for (const std::string &t :
         {std::string(), std::string("garbage"), std::string("a.b.c.d"), std::string(".."), std::string("..."),
          std::string("!!!.???.***"), "Bearer " + good, good + ".", good + " ", " " + good, good + "=",
          b64url("not json") + "." + b64url(claims()) + ".", b64url("[1,2]") + "." + b64url(claims()) + ".",
          b64url(R"("HS256")") + "." + b64url(claims()) + ".", b64url(R"({"alg":"HS256"} x)") + ".e30.",
          b64url(std::string("{\"alg\":\"HS256\",\"x\":\"\\u0000\"}")) + ".e30."})
        EXPECT_ERROR(check(ks, t), "token_malformed") << t;
    // Padded or non-canonical base64url.
    const std::string h = b64url(header(Alg::HS256));
    EXPECT_ERROR(check(ks, h + "=." + good.substr(good.find('.') + 1)), "token_malformed");
    EXPECT_ERROR(check(ks, "eyJhbGciOiJIUzI1NiJ9." + b64url(claims()) + ".AQ"), "token_signature_invalid");
    EXPECT_ERROR(check(ks, "eyJhbGciOiJIUzI1NiJ9." + b64url(claims()) + ".AF"), "token_malformed");
    EXPECT_ERROR(check(ks, "eyJhbGciOiJIUzI1NiJ9." + b64url(claims()) + ".A"), "token_malformed");
    // A payload that is not an object, correctly signed.
    for (const char *payload : {"[]", "\"x\"", "42", "null"})
        EXPECT_ERROR(check(ks, make_token(header(Alg::HS256), payload, hs())), "token_malformed") << payload;
}

TEST_F(JwtTest, OversizedHeaderAndToken) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const auto with_pad = [&](std::size_t header_bytes) {
        const std::string base = R"({"alg":"HS256","p":""})";
        std::string h = R"({"alg":"HS256","p":")" + std::string(header_bytes - base.size(), 'x') + "\"}";
        EXPECT_EQ(h.size(), header_bytes);
        return make_token(h, claims(), hs());
    };
    EXPECT_OK(check(ks, with_pad(2048)));
    EXPECT_ERROR(check(ks, with_pad(2049)), "token_malformed");
    EXPECT_ERROR(check(ks, with_pad(3000)), "token_malformed");
    // The whole token.
    const std::string big =
        make_token(header(Alg::HS256), claims(R"({"pad":")" + std::string(7000, 'y') + "\"}"), hs());
    ASSERT_GT(big.size(), 8192u);
    EXPECT_ERROR(check(ks, big), "token_malformed");
    auto o = opts();
    o.max_token_bytes = 16384;
    EXPECT_OK(check(ks, big, o));
}

// ---- key selection ----

TEST_F(JwtTest, KidSelectsAmongTwoEs256Keys) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud, "a");
    ks.add_public_key_pem(public_pem(ec2_.get()), kIss, kAud, "b");
    auto r = check(ks, make_token(header(Alg::ES256, "a"), claims(), es(ec1_.get())));
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.claims.kid, "a");
    r = check(ks, make_token(header(Alg::ES256, "b"), claims(), es(ec2_.get())));
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(r.claims.kid, "b");
    // The wrong kid for the signing key.
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "a"), claims(), es(ec2_.get()))), "token_signature_invalid");
    // No kid with two ES256 keys: ambiguous.
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256), claims(), es(ec1_.get()))), "token_key_unknown");
}

TEST_F(JwtTest, UnknownKid) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud, "a");
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "c"), claims(), es(ec1_.get()))), "token_key_unknown");
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "A"), claims(), es(ec1_.get()))), "token_key_unknown");
    // Attacker-controlled kid is not echoed raw.
    const auto r = check(ks, make_token(R"({"alg":"ES256","kid":"x\"\n"})", claims(), es(ec1_.get())));
    EXPECT_ERROR(r, "token_key_unknown");
    EXPECT_EQ(r.message.find('\n'), std::string::npos);
    // A key configured without a kid (a PEM file) takes the tokens of its alg whatever kid they name, as identity
    // providers put their own kids in tokens; the signature still decides.
    ks.add_public_key_pem(public_pem(ec2_.get()), kIss, kAud);
    EXPECT_TRUE(check(ks, make_token(R"({"alg":"ES256","kid":"idp-key-7"})", claims(), es(ec2_.get()))).ok);
    EXPECT_TRUE(check(ks, make_token(R"({"alg":"ES256","kid":""})", claims(), es(ec2_.get()))).ok);
    EXPECT_ERROR(check(ks, make_token(R"({"alg":"ES256","kid":"c"})", claims(), es(ec1_.get()))),
                 "token_signature_invalid");
    EXPECT_ERROR(check(ks, make_token(R"({"alg":"ES256","kid":7})", claims(), es(ec1_.get()))), "token_malformed");
    // Built-in keys are never chosen without their kid.
    jwt::KeySet only_builtin;
    only_builtin.replace_builtin({{"k1", public_pem(ec1_.get())}});
    EXPECT_ERROR(check(only_builtin, make_token(header(Alg::ES256), claims(), es(ec1_.get()))), "token_key_unknown");
    // An empty key set.
    EXPECT_ERROR(check(jwt::KeySet(), make_token(header(Alg::ES256), claims(), es(ec1_.get()))), "token_key_unknown");
}

TEST_F(JwtTest, DuplicateKidRejected) {
    jwt::KeySet ks;
    ks.add_public_key_pem(public_pem(ec1_.get()), kIss, kAud, "a");
    EXPECT_THROW(ks.add_public_key_pem(public_pem(ec2_.get()), kIss, kAud, "a"), std::invalid_argument);
    EXPECT_THROW(ks.add_hs256_secret(secret_, kIss, kAud, "a"), std::invalid_argument);
    EXPECT_EQ(ks.size(), 1u);
    // Several keys without a kid are allowed (selected by alg when unique).
    ks.add_hs256_secret(secret_, kIss, kAud);
    ks.add_public_key_pem(public_pem(rsa_.get()), kIss, kAud);
    EXPECT_EQ(ks.size(), 3u);
}

// ---- key loading ----

TEST_F(JwtTest, ShortHs256SecretRejected) {
    jwt::KeySet ks;
    try {
        ks.add_hs256_secret(std::string(31, 'k'), kIss, kAud);
        FAIL() << "a 31-byte secret was accepted";
    } catch (const std::invalid_argument &e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("31 bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("at least 32"), std::string::npos) << m;
        EXPECT_NE(m.find("openssl rand"), std::string::npos) << m;
    }
    EXPECT_THROW(ks.add_hs256_secret("", kIss, kAud), std::invalid_argument);
    EXPECT_TRUE(ks.empty());
    ks.add_hs256_secret(std::string(32, 'k'), kIss, kAud);
    EXPECT_EQ(ks.size(), 1u);
    EXPECT_EQ(ks.keys()[0].label, "hs256-secret-file");
}

TEST_F(JwtTest, PublicKeyPemRejections) {
    jwt::KeySet ks;
    Pkey small(EVP_RSA_gen(1024));
    Pkey p384(EVP_EC_gen("P-384"));
    Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ASSERT_TRUE(small && p384 && ed);
    const auto message = [&](const std::string &pem) {
        try {
            ks.add_public_key_pem(pem, kIss, kAud);
        } catch (const std::invalid_argument &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message(public_pem(small.get())).find("2048"), std::string::npos);
    EXPECT_NE(message(public_pem(p384.get())).find("P-256"), std::string::npos);
    EXPECT_NE(message(public_pem(ed.get())).find("unsupported key type"), std::string::npos);
    EXPECT_NE(message(private_pem(ec1_.get())).find("private key"), std::string::npos);
    EXPECT_NE(message("not a pem").find("BEGIN PUBLIC KEY"), std::string::npos);
    EXPECT_NE(message("").find("BEGIN PUBLIC KEY"), std::string::npos);
    EXPECT_TRUE(ks.empty());
}

std::string rsa_jwk(EVP_PKEY *k, const std::string &kid, const std::string &extra = "") {
    return R"({"kty":"RSA","kid":")" + kid + R"(","n":")" + b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
           b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_E)) + "\"" + extra + "}";
}

std::string ec_jwk(EVP_PKEY *k, const std::string &kid, const std::string &extra = "") {
    return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" +
           b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
           b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"" + extra + "}";
}

TEST_F(JwtTest, JwksRsaAndEc) {
    jwt::KeySet ks;
    const std::string jwks = R"({"keys":[)" + rsa_jwk(rsa_.get(), "r1", R"(,"alg":"RS256","use":"sig")") + "," +
                             ec_jwk(ec1_.get(), "e1", R"(,"alg":"ES256","key_ops":["verify"])") + "," +
                             ec_jwk(ec2_.get(), "e2") + "]}";
    ks.add_jwks(jwks, kIss, kAud);
    ASSERT_EQ(ks.size(), 3u);
    EXPECT_EQ(ks.keys()[0].alg, Alg::RS256);
    EXPECT_EQ(ks.keys()[1].alg, Alg::ES256);
    EXPECT_EQ(ks.keys()[0].label, "jwks");
    auto r = check(ks, make_token(header(Alg::RS256, "r1"), claims(), rs()));
    ASSERT_TRUE(r.ok) << r.error << ": " << r.message;
    EXPECT_EQ(r.claims.kid, "r1");
    EXPECT_OK(check(ks, make_token(header(Alg::RS256), claims(), rs()))); // the only RS256 key
    EXPECT_OK(check(ks, make_token(header(Alg::ES256, "e1"), claims(), es(ec1_.get()))));
    EXPECT_OK(check(ks, make_token(header(Alg::ES256, "e2"), claims(), es(ec2_.get()))));
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "e1"), claims(), es(ec2_.get()))), "token_signature_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "e1"), claims(R"({"iss":"x"})"), es(ec1_.get()))),
                 "token_issuer_invalid");
}

TEST_F(JwtTest, JwksRejections) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud);
    const std::string good_ec = ec_jwk(ec1_.get(), "e1");
    const auto message = [&](const std::string &jwks) {
        try {
            ks.add_jwks(jwks, kIss, kAud);
        } catch (const std::invalid_argument &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    const std::string d = b64url(std::string(32, '\x07'));
    // A private key: the whole set is refused, including the good key before it.
    EXPECT_NE(message(R"({"keys":[)" + good_ec + "," + ec_jwk(ec2_.get(), "e2", R"(,"d":")" + d + "\"") + "]}")
                  .find("private key"),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + rsa_jwk(rsa_.get(), "r1", R"(,"d":")" + d + "\"") + "]}").find("private key"),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + rsa_jwk(rsa_.get(), "r1", R"(,"alg":"ES256")") + "]}").find("\"alg\""),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + ec_jwk(ec1_.get(), "e1", R"(,"alg":"HS256")") + "]}").find("\"alg\""),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + ec_jwk(ec1_.get(), "e1", R"(,"use":"enc")") + "]}").find("\"use\""),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + ec_jwk(ec1_.get(), "e1", R"(,"key_ops":["sign"])") + "]}").find("key_ops"),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[{"kty":"oct","k":")" + d + "\"}]}").find("oct"), std::string::npos);
    EXPECT_NE(message(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":")" + d + "\"}]}").find("OKP"), std::string::npos);
    EXPECT_NE(message(R"({"keys":[{"kty":"EC","crv":"P-384","x":")" + d + R"(","y":")" + d + "\"}]}").find("P-256"),
              std::string::npos);
    // x of the wrong length; a point not on the curve.
    EXPECT_NE(message(R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":")" + d + "\"}]}").find("32 bytes"),
              std::string::npos);
    EXPECT_NE(message(R"({"keys":[{"kty":"EC","crv":"P-256","x":")" + d + R"(","y":")" + d + "\"}]}"), "accepted");
    // A small RSA key.
    Pkey small(EVP_RSA_gen(1024));
    EXPECT_NE(message(R"({"keys":[)" + rsa_jwk(small.get(), "s") + "]}").find("2048"), std::string::npos);
    // Structure.
    EXPECT_NE(message("not json").find("not valid JSON"), std::string::npos);
    EXPECT_NE(message("[]").find("\"keys\""), std::string::npos);
    EXPECT_NE(message(R"({"keys":[]})").find("no keys"), std::string::npos);
    EXPECT_NE(message(R"({"keys":[)" + good_ec + "," + good_ec + "]}").find("unique"), std::string::npos);
    EXPECT_EQ(ks.size(), 1u); // nothing was added
}

// ---- built-in keys ----

TEST_F(JwtTest, ReplaceBuiltinSwapsKeys) {
    jwt::KeySet ks;
    ks.add_hs256_secret(secret_, kIss, kAud, "hs");
    const auto builtin_claims = claims("{}", {}, "pg_collab", "pg_collab");
    const std::string t1 = make_token(header(Alg::ES256, "k1"), builtin_claims, es(ec1_.get()));
    const std::string t2 = make_token(header(Alg::ES256, "k2"), builtin_claims, es(ec2_.get()));

    ks.replace_builtin({{"k1", public_pem(ec1_.get())}});
    ASSERT_EQ(ks.size(), 2u);
    auto r = check(ks, t1);
    ASSERT_TRUE(r.ok) << r.error << ": " << r.message;
    EXPECT_TRUE(r.claims.builtin);
    EXPECT_EQ(r.claims.kid, "k1");
    EXPECT_EQ(r.claims.iss, "pg_collab");
    EXPECT_ERROR(check(ks, t2), "token_key_unknown");
    // Built-in keys check iss and aud "pg_collab".
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "k1"), claims("{}", {}, "pg_collab", kAud), es(ec1_.get()))),
                 "token_audience_invalid");
    EXPECT_ERROR(check(ks, make_token(header(Alg::ES256, "k1"), claims(), es(ec1_.get()))), "token_issuer_invalid");

    // Rotation: both keys during the overlap, then only the new one.
    ks.replace_builtin({{"k1", public_pem(ec1_.get())}, {"k2", public_pem(ec2_.get())}});
    EXPECT_OK(check(ks, t1));
    EXPECT_OK(check(ks, t2));
    ks.replace_builtin({{"k2", public_pem(ec2_.get())}});
    EXPECT_ERROR(check(ks, t1), "token_key_unknown");
    EXPECT_OK(check(ks, t2));
    EXPECT_EQ(ks.size(), 2u);

    // Failed replacements leave the current built-in keys in place.
    EXPECT_THROW(ks.replace_builtin({{"k3", public_pem(ec3_.get())}, {"k4", "garbage"}}), std::invalid_argument);
    EXPECT_THROW(ks.replace_builtin({{"k3", public_pem(rsa_.get())}}), std::invalid_argument);
    EXPECT_THROW(ks.replace_builtin({{"hs", public_pem(ec3_.get())}}), std::invalid_argument); // kid taken
    EXPECT_THROW(ks.replace_builtin({{"k3", public_pem(ec3_.get())}, {"k3", public_pem(ec1_.get())}}),
                 std::invalid_argument);
    EXPECT_OK(check(ks, t2));
    EXPECT_EQ(ks.size(), 2u);

    // The HS256 key is untouched throughout; an empty list removes the built-in keys.
    EXPECT_OK(check(ks, make_token(header(Alg::HS256, "hs"), claims(), hs())));
    ks.replace_builtin({});
    EXPECT_EQ(ks.size(), 1u);
    EXPECT_ERROR(check(ks, t2), "token_key_unknown");
    EXPECT_OK(check(ks, make_token(header(Alg::HS256, "hs"), claims(), hs())));
}

// ---- files ----

TEST_F(JwtTest, ReadKeyFile) {
    try {
        jwt::KeySet::read_key_file("/nonexistent/key.pem");
        FAIL() << "no exception";
    } catch (const std::runtime_error &e) {
        EXPECT_STREQ(e.what(), "cannot read key file /nonexistent/key.pem: No such file or directory");
    }
    try {
        jwt::KeySet::read_key_file("/");
        FAIL() << "no exception";
    } catch (const std::runtime_error &e) {
        EXPECT_STREQ(e.what(), "cannot read key file /: Is a directory");
    }
    char path[] = "/tmp/jwt_test_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string pem = public_pem(ec1_.get());
    ASSERT_EQ(write(fd, pem.data(), pem.size()), static_cast<ssize_t>(pem.size()));
    close(fd);
    EXPECT_EQ(jwt::KeySet::read_key_file(path), pem);
    jwt::KeySet ks;
    ks.add_public_key_pem(jwt::KeySet::read_key_file(path), kIss, kAud);
    EXPECT_EQ(ks.keys()[0].alg, Alg::ES256);

    std::FILE *f = std::fopen(path, "wb");
    std::fputs("0123456789abcdef0123456789abcdef\r\n", f);
    std::fclose(f);
    EXPECT_EQ(jwt::KeySet::read_secret_file(path), "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(jwt::KeySet::read_key_file(path), "0123456789abcdef0123456789abcdef\r\n");
    std::remove(path);
}

TEST(JwtAlg, Names) {
    EXPECT_STREQ(jwt::alg_name(Alg::HS256), "HS256");
    EXPECT_STREQ(jwt::alg_name(Alg::RS256), "RS256");
    EXPECT_STREQ(jwt::alg_name(Alg::ES256), "ES256");
    EXPECT_EQ(jwt::alg_from_name("ES256"), Alg::ES256);
    EXPECT_EQ(jwt::alg_from_name("none"), std::nullopt);
    EXPECT_EQ(jwt::alg_from_name("es256"), std::nullopt);
}

} // namespace
