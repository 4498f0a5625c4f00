// redispebble — Pebble's command-line splitting (canonical/x-go strutil/shlex), both ways.
#ifndef REDISPEBBLE_SHLEX_HPP
#define REDISPEBBLE_SHLEX_HPP

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redispebble {

/// Splits a command exactly as Pebble does before exec (x-go shlex.Split: spaces, '...' without
/// escapes, "..." with backslash escapes, backslash outside quotes, `#` at a word start begins a
/// comment). Throws input_error on an unterminated quote or a trailing backslash.
[[nodiscard]] std::vector<std::string> shlex_split(std::string_view command);

/// Quotes one word so that shlex_split gives it back unchanged (x-go shlex.Quote). Throws
/// input_error for a word that is not valid UTF-8: no quoting survives Pebble's splitting, which
/// reads runes and turns each invalid byte into U+FFFD.
[[nodiscard]] std::string shlex_quote(std::string_view word);

/// Joins words with shlex_quote (throws as it does).
[[nodiscard]] std::string shlex_join(const std::vector<std::string>& words);

/// Pebble's ParseCommand: the base argv and the optional `[ default args ]` group. Throws
/// input_error for the bracket errors Pebble reports.
struct parsed_command {
    std::vector<std::string> base;
    std::vector<std::string> extra;
};
[[nodiscard]] parsed_command parse_service_command(std::string_view command);

} // namespace redispebble

#endif
