// shlex: splitting arbitrary text gives words or input_error, never anything else; quoting words
// (the input cut at NUL bytes) and splitting the join gives the same words back, and a word that is
// not valid UTF-8 is refused; Pebble's
// command parsing gives input_error or a base command.
#include "fuzz_target.hpp"
#include "util.hpp"

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>
#include <redispebble/utf8.hpp>

#include <string>
#include <vector>

REDISPEBBLE_FUZZ_TARGET(shlex) {
    using namespace redispebble;
    const auto text = fuzz::as_text(data, size);
    try {
        (void)shlex_split(text);
    } catch (const input_error&) {
    }
    try {
        (void)parse_service_command(text);
    } catch (const input_error&) {
    }
    std::vector<std::string> words;
    std::string_view rest = text;
    for (;;) {
        const auto nul = rest.find('\0');
        words.emplace_back(rest.substr(0, nul));
        if (nul == std::string_view::npos) break;
        rest.remove_prefix(nul + 1);
    }
    // A word that is not valid UTF-8 cannot come back from Pebble's splitting: shlex_quote refuses
    // it (input_error) instead of quoting something else; every other word comes back as itself.
    bool all_valid = true;
    for (const auto& w : words) {
        if (!redispebble::valid_utf8(w)) {
            all_valid = false;
            bool refused = false;
            try {
                (void)shlex_quote(w);
            } catch (const input_error&) {
                refused = true;
            }
            FUZZ_CHECK(refused);
            continue;
        }
        const auto one = shlex_split(shlex_quote(w));
        FUZZ_CHECK(one.size() == 1);
        FUZZ_CHECK(one[0] == w);
    }
    if (all_valid) FUZZ_CHECK(shlex_split(shlex_join(words)) == words);
    return 0;
}
