// Pebble's merge and combine rules (internals/plan/plan.go CombineLayers, Service.Merge,
// Check.Merge, LogTarget.Merge).
#include "layer_detail.hpp"

#include <type_traits>

namespace redispebble {

using namespace detail;

namespace {

template <class T, class F>
void merge_entries(std::map<std::string, T>& base, const std::map<std::string, T>& upper, F merge) {
    for (const auto& [name, entry] : upper) {
        auto it = base.find(name);
        if (entry.override == override_kind::merge && it != base.end()) merge(it->second, entry);
        else base[name] = entry;
    }
}

template <class T>
void merge_fields(T& x, const T& o);

// Pebble's rule for one field (layer_detail.hpp's table): scalars overwrite when set (strings
// when non-empty, plain ints when non-zero), lists append, maps merge key by key, a check's kind
// merges field by field, override is not merged.
template <class M>
void merge_field(const field_spec& f, M& dst, const M& src) {
    if constexpr (std::is_same_v<M, std::optional<std::string>>) {
        if (src && (f.kind == field_kind::duration || !src->empty())) dst = src;
    } else if constexpr (std::is_same_v<M, std::optional<std::int64_t>>) {
        if (src && !(f.zero_is_unset && *src == 0)) dst = src;
    } else if constexpr (std::is_same_v<M, std::optional<double>>) {
        if (src) dst = src;
    } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
        dst.insert(dst.end(), src.begin(), src.end());
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
        for (const auto& [k, v] : src) dst[k] = v;
    } else if constexpr (std::is_same_v<M, override_kind>) {
    } else if (src) {
        if (!dst) dst.emplace();
        merge_fields(*dst, *src);
    }
}

template <class T>
void merge_fields(T& x, const T& o) {
    fields_of<T>::each([&](const field_spec& f, auto member) { merge_field(f, x.*member, o.*member); });
}

} // namespace

namespace detail {

void merge_entry(service& s, const service& o) { merge_fields(s, o); }
void merge_entry(check& c, const check& o) { merge_fields(c, o); }
void merge_entry(log_target& t, const log_target& o) { merge_fields(t, o); }

} // namespace detail

void merge_into(layer& base, const layer& upper) {
    const auto merge = [](auto& entry, const auto& over) { merge_entry(entry, over); };
    merge_entries(base.services, upper.services, merge);
    merge_entries(base.checks, upper.checks, merge);
    merge_entries(base.log_targets, upper.log_targets, merge);
    if (upper.summary) base.summary = upper.summary;
    if (upper.description) base.description = upper.description;
}

layer combine(const std::vector<layer>& layers) {
    layer out;
    for (const auto& l : layers) merge_into(out, l);
    out.summary.reset();
    out.description.reset();
    return out;
}

} // namespace redispebble
