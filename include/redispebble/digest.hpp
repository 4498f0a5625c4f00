// redispebble — digests (OpenSSL's libcrypto behind a standard-library interface).
#ifndef REDISPEBBLE_DIGEST_HPP
#define REDISPEBBLE_DIGEST_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace redispebble {

/// Lower-case hex SHA-256 of `data`.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Lower-case hex PBKDF2-HMAC-SHA256(password, salt, iterations), 32 bytes.
[[nodiscard]] std::string pbkdf2_sha256_hex(std::string_view password, std::string_view salt,
                                            std::uint32_t iterations);

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
