// redispebble — a value that must never be printed.
#ifndef REDISPEBBLE_SECRET_HPP
#define REDISPEBBLE_SECRET_HPP

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace redispebble {

/// A secret string (a password, a private key). It converts to nothing implicitly, prints as
/// `<redacted>` through `operator<<`, and hands its bytes out only through `reveal()`, so every
/// place that exposes it is greppable.
class secret {
public:
    secret() = default;
    explicit secret(std::string value) : value_(std::move(value)) {}

    /// The secret bytes. Call only where they must go: a file pushed with mode 0600, a comparison.
    [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

    friend bool operator==(const secret& a, const secret& b) noexcept { return a.value_ == b.value_; }
    friend std::ostream& operator<<(std::ostream& os, const secret&) { return os << "<redacted>"; }

private:
    std::string value_;
};

/// What a secret prints as, everywhere.
inline constexpr std::string_view redacted = "<redacted>";

} // namespace redispebble

#endif
