// redispebble — UTF-8 validity, the rule every text Pebble's API carries (JSON and YAML) obeys.
#ifndef REDISPEBBLE_UTF8_HPP
#define REDISPEBBLE_UTF8_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace redispebble {

/// The offset of the first byte of `s` that does not start a well-formed UTF-8 sequence (RFC 3629:
/// no overlong forms, no surrogates, nothing above U+10FFFF), or std::string_view::npos when all of
/// `s` is valid. Go's utf8.Valid and yaml.v3's reader apply the same rule.
[[nodiscard]] std::size_t invalid_utf8_at(std::string_view s) noexcept;

/// invalid_utf8_at(s) == npos.
[[nodiscard]] inline bool valid_utf8(std::string_view s) noexcept { return invalid_utf8_at(s) == std::string_view::npos; }

/// 1-based line and column of byte `offset` in `text` (for error messages).
struct text_position {
    int line = 1, column = 1;
};
[[nodiscard]] text_position position_of(std::string_view text, std::size_t offset) noexcept;

/// `s` as Go's strconv.Quote writes it (Pebble's %q in its error messages): in double quotes, `"`
/// and `\` escaped, \a \b \f \n \r \t \v, other control bytes and DEL as \xhh. Bytes of 0x80 and
/// above are kept as they are (Go escapes those that are not valid, printable UTF-8).
[[nodiscard]] std::string go_quote(std::string_view s);

} // namespace redispebble

#endif
