#include <redispebble/digest.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include <stdexcept>

namespace redispebble {
namespace {
std::string to_hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 0xf];
    }
    return out;
}

// SHA-256 fetched once. With EVP_sha256(), OpenSSL 3 looks the implementation up again in every
// EVP_DigestInit_ex (a locked name lookup): the reconciler hashes several times per unit.
const EVP_MD* sha256_md() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md ? md : EVP_sha256();
}
} // namespace

std::string sha256_hex(std::string_view data) {
    sha256_hasher h;
    h.update(data);
    return h.finish_hex();
}

std::string pbkdf2_sha256_hex(std::string_view password, std::string_view salt, std::uint32_t iterations) {
    unsigned char out[32];
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                          static_cast<int>(iterations), EVP_sha256(), sizeof out, out) != 1)
        throw std::runtime_error("PBKDF2-HMAC-SHA256 failed");
    return to_hex(out, sizeof out);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const unsigned char empty = 0;
    const void* key_bytes = key.empty() ? static_cast<const void*>(&empty) : static_cast<const void*>(key.data());
    if (!HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
              data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n))
        throw std::runtime_error("HMAC-SHA256 failed");
    return to_hex(md, n);
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buf(bytes);
    if (bytes > 0 && RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
        throw std::runtime_error("the random generator (RAND_bytes) failed");
    return to_hex(buf.data(), buf.size());
}

sha256_hasher::sha256_hasher() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) != 1)
        throw std::runtime_error("SHA-256 initialisation failed");
}

sha256_hasher::~sha256_hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void sha256_hasher::update(std::string_view data) {
    if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1)
        throw std::runtime_error("SHA-256 update failed");
}

std::string sha256_hasher::finish_hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n) != 1)
        throw std::runtime_error("SHA-256 final failed");
    return to_hex(md, n);
}

} // namespace redispebble
