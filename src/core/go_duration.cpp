// Go's time.ParseDuration and Duration.String, as Pebble reads and writes durations.
#include "layer_detail.hpp"

#include <redispebble/utf8.hpp>

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

namespace redispebble {

using namespace detail;

std::optional<std::int64_t> parse_go_duration(std::string_view s) noexcept {
    // time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ ; "0" alone is valid. Integer arithmetic
    // with Go's overflow limits; a fraction is added as uint64(float64(f) * (float64(unit) / scale)),
    // that is truncated, and digits beyond what fits are ignored.
    constexpr std::uint64_t limit = std::uint64_t{1} << 63;
    if (s.empty()) return std::nullopt;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return 0;
    if (s.empty()) return std::nullopt;
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    std::uint64_t d = 0;
    while (!s.empty()) {
        if (!(s[0] == '.' || is_digit(s[0]))) return std::nullopt;
        std::uint64_t v = 0, f = 0;
        double scale = 1;
        std::size_t i = 0;
        for (; i < s.size() && is_digit(s[i]); ++i) {  // leadingInt
            if (v > limit / 10) return std::nullopt;
            v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (v > limit) return std::nullopt;
        }
        const bool pre = i > 0;
        s.remove_prefix(i);
        bool post = false;
        if (!s.empty() && s[0] == '.') {  // leadingFraction
            s.remove_prefix(1);
            bool overflow = false;
            for (i = 0; i < s.size() && is_digit(s[i]); ++i) {
                if (overflow) continue;
                if (f > (limit - 1) / 10) {
                    overflow = true;
                    continue;
                }
                const std::uint64_t y = f * 10 + static_cast<std::uint64_t>(s[i] - '0');
                if (y > limit) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = i > 0;
            s.remove_prefix(i);
        }
        if (!pre && !post) return std::nullopt;
        for (i = 0; i < s.size() && s[i] != '.' && !is_digit(s[i]); ++i) {
        }
        if (i == 0) return std::nullopt;
        const std::string_view u = s.substr(0, i);
        s.remove_prefix(i);
        std::uint64_t unit = 0;
        if (u == "ns") unit = 1;
        else if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") unit = 1000;
        else if (u == "ms") unit = 1000000;
        else if (u == "s") unit = 1000000000;
        else if (u == "m") unit = 60000000000;
        else if (u == "h") unit = 3600000000000;
        else return std::nullopt;
        if (v > limit / unit) return std::nullopt;
        v *= unit;
        if (f > 0) {
            v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
            if (v > limit) return std::nullopt;
        }
        d += v;
        if (d > limit) return std::nullopt;
    }
    if (neg) return d == limit ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(d);
    if (d > limit - 1) return std::nullopt;
    return static_cast<std::int64_t>(d);
}

std::string format_go_duration(std::int64_t d) {
    // time.Duration.String().
    if (d == 0) return "0s";
    const bool neg = d < 0;
    std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(d) : static_cast<std::uint64_t>(d);
    auto frac = [](std::uint64_t v, int prec, std::string& out) {
        // Writes v / 10^prec with trailing zeros (and a bare dot) dropped.
        std::string digits;
        bool print = false;
        for (int i = 0; i < prec; ++i) {
            const auto digit = v % 10;
            print = print || digit != 0;
            if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
            v /= 10;
        }
        if (print) digits.insert(digits.begin(), '.');
        out = std::to_string(v) + digits + out;
    };
    std::string out;
    if (u < 1000000000ULL) {
        // Sub-second: ns, µs or ms with a fraction.
        std::string unit;
        int prec = 0;
        if (u < 1000ULL) unit = "ns", prec = 0;
        else if (u < 1000000ULL) unit = "\xc2\xb5s", prec = 3;
        else unit = "ms", prec = 6;
        out = unit;
        frac(u, prec, out);
    } else {
        out = "s";
        frac(u % 60000000000ULL, 9, out);
        u /= 60000000000ULL;
        if (u > 0) {
            out = std::to_string(u % 60) + "m" + out;
            u /= 60;
            if (u > 0) out = std::to_string(u) + "h" + out;
        }
    }
    return neg ? "-" + out : out;
}

} // namespace redispebble
