// Small helpers shared by the harnesses in fuzz/: the prelude every parser harness starts with
// (accepted: parse, or return 0 on input_error), the layer and plan round trip, UTF-8, and a scratch
// directory for the harnesses that open a Unix socket.
#ifndef REDISPEBBLE_FUZZ_UTIL_HPP
#define REDISPEBBLE_FUZZ_UTIL_HPP

#include "fuzz_target.hpp"

#include <redispebble/error.hpp>
#include <redispebble/layer.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace redispebble::fuzz {

/// True when s is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
inline bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        unsigned min = 0, cp = 0;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return false;
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

/// parse()'s value, or nothing when it threw input_error (bad input refused cleanly: the harness
/// returns 0). Any other exception escapes, and is a finding.
template <class Parse>
auto accepted(Parse&& parse) -> std::optional<decltype(parse())> {
    try {
        return parse();
    } catch (const input_error&) {
        return std::nullopt;
    }
}

/// The harness of a layer or a plan: `parse` (text, source name) gives input_error or a layer; an
/// accepted layer validates or gives input_error (Pebble parses a layer before it validates it: an
/// entry without override parses, and is refused by the combine), and either way the text `emit`
/// writes parses back to the same layer, and is written the same again. `emitter` names `emit` in
/// the report of a failure. The accepted layer, for further checks.
template <class Parse, class Validate, class Emit>
std::optional<layer> check_round_trip(std::string_view input, const char* source, Parse parse, Validate validate,
                                      Emit emit, const char* emitter) {
    const auto l = accepted([&] { return parse(input, source); });
    if (!l) return l;
    try {
        validate(*l);
    } catch (const input_error&) {
    }
    const std::string yaml = emit(*l);
    layer again;
    try {
        again = parse(yaml, std::string(emitter) + " output");
    } catch (const input_error& e) {
        std::fprintf(stderr, "%s output does not parse: %s\n%s\n", emitter, e.what(), yaml.c_str());
        FUZZ_CHECK(!"the emitted text parses");
    }
    FUZZ_CHECK(again == *l);
    FUZZ_CHECK(emit(again) == yaml);
    return l;
}

/// A fresh directory under /tmp, removed with everything in it when this goes (declare it before
/// the members that use it, so they are gone first).
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/redispebble-fuzz-XXXXXX";
        const char* made = ::mkdtemp(tmpl);
        if (!made) {
            std::perror("mkdtemp");
            std::abort();
        }
        path = made;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace redispebble::fuzz

#endif
