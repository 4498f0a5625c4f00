// The layer model's private declarations, shared by its files (src/core/layer*.cpp, yaml_v3.cpp).
// Not installed. Standard library only, as the whole core.
#ifndef REDISPEBBLE_SRC_CORE_LAYER_DETAIL_HPP
#define REDISPEBBLE_SRC_CORE_LAYER_DETAIL_HPP
#include <redispebble/layer.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redispebble::detail {

// validServiceAction: restart, shutdown and ignore everywhere; failure-shutdown only in
// on-success, success-shutdown only in on-failure and on-check-failure.
#define REDISPEBBLE_ON_SUCCESS_ACTIONS {"restart", "shutdown", "ignore", "failure-shutdown"}
#define REDISPEBBLE_ON_FAILURE_ACTIONS {"restart", "shutdown", "ignore", "success-shutdown"}

enum class style { ours, pebble };

// yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ (overflow to ±Inf,
// which Go's ParseFloat reports as an error, is not modelled).
bool yaml_style_float(std::string_view s);

// Ours (sent to Pebble): plain when yaml.v3 would write it plain and it is safe for yaml-cpp to
// read back, double quotes otherwise; never a block scalar.
std::string scalar(const std::string& s, style st, bool key = false, int indent = 0);

std::string key_text(const std::string& k, style st);

// yaml.v3's sorter.go keyList.Less for string keys ("natural" order: digit runs compare by value).
// unicode.IsLetter/IsDigit are approximated: ASCII letters and every non-ASCII code point are
// letters, only 0-9 are digits.
bool v3_key_less(const std::string& a8, const std::string& b8);

// Map keys in the order the style writes them.
template <class V>
std::vector<const std::pair<const std::string, V>*> ordered(const std::map<std::string, V>& m, style st) {
    std::vector<const std::pair<const std::string, V>*> out;
    for (const auto& kv : m) out.push_back(&kv);
    if (st == style::pebble)
        std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) { return v3_key_less(a->first, b->first); });
    return out;
}

std::string format_float(double v);

// Go's strconv.ParseUint(s, 0, 64) after an optional sign: base prefixes 0x, 0o, 0b and a leading-0
// octal, no underscores. Nothing when s is not such a number or its magnitude exceeds 2^64-1; the
// callers apply ParseInt's range.
struct go_integer {
    bool negative = false;
    std::uint64_t magnitude = 0;
};
std::optional<go_integer> parse_go_integer(std::string_view s);

void merge_service(service& s, const service& o);

void merge_check(check& c, const check& o);

void merge_log_target(log_target& t, const log_target& o);

} // namespace redispebble::detail

#endif
