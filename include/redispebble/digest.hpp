// redispebble — digests (OpenSSL's libcrypto behind a standard-library interface).
#ifndef REDISPEBBLE_DIGEST_HPP
#define REDISPEBBLE_DIGEST_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace redispebble {

/// Lower-case hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Lower-case hex PBKDF2-HMAC-SHA256(password, salt, iterations), 32 bytes.
[[nodiscard]] std::string pbkdf2_sha256_hex(std::string_view password, std::string_view salt,
                                            std::uint32_t iterations);

/// Lower-case hex HMAC-SHA256(key, data) (RFC 2104), 32 bytes.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// `bytes` bytes from OpenSSL's CSPRNG (RAND_bytes), lower-case hex (2 * bytes characters).
/// Throws std::runtime_error when the generator cannot be seeded.
[[nodiscard]] std::string random_hex(std::size_t bytes);

/// Incremental SHA-256 for streamed content.
class sha256_hasher {
public:
    sha256_hasher();
    ~sha256_hasher();
    sha256_hasher(const sha256_hasher&) = delete;
    sha256_hasher& operator=(const sha256_hasher&) = delete;
    void update(std::string_view data);
    [[nodiscard]] std::string finish_hex();

private:
    void* ctx_;
};

} // namespace redispebble

#endif
