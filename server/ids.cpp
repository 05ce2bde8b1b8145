#include "ids.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace collab::bridge {

namespace {

constexpr std::size_t kRandomBytes = 16;
constexpr std::size_t kMacBytes = 12;

std::string to_hex(const unsigned char *data, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xF];
    }
    return out;
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

} // namespace

std::string ClientIds::mac(std::string_view random_part, std::string_view user) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    std::string message(random_part);
    message += ':';
    message += user;
    if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char *>(message.data()), message.size(), out, &len) == nullptr)
        throw std::runtime_error("HMAC-SHA256 failed");
    return to_hex(out, kMacBytes);
}

std::string ClientIds::issue(std::string_view user) const {
    if (secret_.empty()) throw std::logic_error("client ids requested before the secret was loaded");
    unsigned char random[kRandomBytes];
    if (RAND_bytes(random, sizeof(random)) != 1) throw std::runtime_error("RAND_bytes failed");
    const std::string r = to_hex(random, sizeof(random));
    return r + mac(r, user);
}

bool ClientIds::verify(std::string_view id, std::string_view user) const {
    if (secret_.empty() || id.size() != 2 * (kRandomBytes + kMacBytes) || !is_hex(id)) return false;
    const std::string_view r = id.substr(0, 2 * kRandomBytes);
    const std::string expected = mac(r, user);
    return CRYPTO_memcmp(expected.data(), id.data() + r.size(), expected.size()) == 0;
}

} // namespace collab::bridge
