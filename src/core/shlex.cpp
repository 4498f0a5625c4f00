// Pebble splits a service command with canonical/x-go's strutil/shlex before exec; this is the same
// behaviour, rewritten: rune-wise reading (invalid UTF-8 becomes U+FFFD), '...' without escapes,
// "..." with backslash escapes of any rune, backslash escapes outside quotes, `#` at the start of a
// word is a comment to the end of the line, quoted parts concatenate with the word around them.
#include <redispebble/shlex.hpp>

#include <redispebble/error.hpp>
#include <redispebble/utf8.hpp>

#include <cstdint>

namespace redispebble {

namespace {

// Reads one UTF-8 rune starting at s[i] and returns its bytes as Go's string(rune) would write
// them back: an invalid sequence is one byte that becomes U+FFFD.
std::string next_rune(std::string_view s, std::size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
    bool ok = len != 0 && i + len <= s.size();
    std::uint32_t cp = 0;
    if (ok) {
        cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1f) : len == 3 ? (b0 & 0x0f) : (b0 & 0x07);
        for (std::size_t k = 1; k < len && ok; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) ok = false;
            cp = (cp << 6) | (b & 0x3f);
        }
        // Overlong forms, surrogates and out-of-range values are invalid in Go too.
        if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                   (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
            ok = false;
    }
    if (!ok) {
        i += 1;
        return "\xef\xbf\xbd";
    }
    std::string out(s.substr(i, len));
    i += len;
    return out;
}

bool is_space(const std::string& r) { return r == " " || r == "\t" || r == "\r" || r == "\n"; }

} // namespace

std::vector<std::string> shlex_split(std::string_view command) {
    enum class state { start, word, escaping, escaping_quoted, quoting_escaping, quoting, comment };
    std::vector<std::string> words;
    std::string value;
    state st = state::start;
    std::size_t i = 0;
    auto fail = [&](const char* what) { throw input_error("command", 0, 0, "", what); };
    for (;;) {
        const bool eof = i >= command.size();
        const std::string r = eof ? std::string() : next_rune(command, i);
        switch (st) {
        case state::start:
            if (eof) return words;
            if (is_space(r)) break;
            if (r == "\"") st = state::quoting_escaping;
            else if (r == "'") st = state::quoting;
            else if (r == "\\") st = state::escaping;
            else if (r == "#") st = state::comment;
            else {
                value += r;
                st = state::word;
            }
            break;
        case state::word:
            if (eof || is_space(r)) {
                words.push_back(std::move(value));
                value.clear();
                if (eof) return words;
                st = state::start;
            } else if (r == "\"") st = state::quoting_escaping;
            else if (r == "'") st = state::quoting;
            else if (r == "\\") st = state::escaping;
            else value += r;
            break;
        case state::escaping:
            if (eof) fail("EOF found after escape character");
            value += r;
            st = state::word;
            break;
        case state::escaping_quoted:
            if (eof) fail("EOF found after escape character");
            value += r;
            st = state::quoting_escaping;
            break;
        case state::quoting_escaping:
            if (eof) fail("EOF found when expecting closing quote");
            if (r == "\"") st = state::word;
            else if (r == "\\") st = state::escaping_quoted;
            else value += r;
            break;
        case state::quoting:
            if (eof) fail("EOF found when expecting closing quote");
            if (r == "'") st = state::word;
            else value += r;
            break;
        case state::comment:
            // A comment token is dropped; it ends at a newline or at the end.
            if (eof) return words;
            if (r == "\n") {
                value.clear();
                st = state::start;
            }
            break;
        }
    }
}

std::string shlex_quote(std::string_view word) {
    if (!valid_utf8(word))
        throw input_error("command", 0, 0, "",
                          "a word that is not valid UTF-8 cannot be quoted: Pebble's splitting reads runes and "
                          "would give back U+FFFD for it");
    if (word.empty()) return "''";
    for (char c : word) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
        if (!safe) {
            std::string out = "'";
            for (char ch : word) {
                if (ch == '\'') out += "'\"'\"'";
                else out += ch;
            }
            return out + "'";
        }
    }
    return std::string(word);
}

std::string shlex_join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += ' ';
        out += shlex_quote(w);
    }
    return out;
}

parsed_command parse_service_command(std::string_view command) {
    auto fail = [](const std::string& what) {
        throw input_error("command", 0, 0, "command", "cannot parse service command: " + what);
    };
    std::vector<std::string> args;
    try {
        args = shlex_split(command);
    } catch (const input_error& e) {
        fail(e.message());
    }
    parsed_command out;
    bool in_brackets = false, got_brackets = false;
    for (std::size_t idx = 0; idx < args.size(); ++idx) {
        const std::string& arg = args[idx];
        if (in_brackets) {
            if (arg == "[") fail("cannot nest [ ... ] groups");
            if (arg == "]") {
                in_brackets = false;
                continue;
            }
            out.extra.push_back(arg);
            continue;
        }
        if (got_brackets) fail("cannot have any arguments after [ ... ] group");
        if (arg == "[") {
            if (idx == 0) fail("cannot start command with [ ... ] group");
            in_brackets = got_brackets = true;
            continue;
        }
        if (arg == "]") fail("cannot have ] outside of [ ... ] group");
        out.base.push_back(arg);
    }
    return out;
}

} // namespace redispebble
