// Pebble's merge and combine rules (internals/plan/plan.go CombineLayers, Service.Merge,
// Check.Merge, LogTarget.Merge).
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

namespace {

template <class T>
void set_if(std::optional<T>& dst, const std::optional<T>& src) {
    if (src) dst = src;
}

void set_if_nonempty(std::optional<std::string>& dst, const std::optional<std::string>& src) {
    if (src && !src->empty()) dst = src;
}

void append(std::vector<std::string>& dst, const std::vector<std::string>& src) { dst.insert(dst.end(), src.begin(), src.end()); }

void merge_map(std::map<std::string, std::string>& dst, const std::map<std::string, std::string>& src) {
    for (const auto& [k, v] : src) dst[k] = v;
}

template <class T, class F>
void merge_entries(std::map<std::string, T>& base, const std::map<std::string, T>& upper, F merge) {
    for (const auto& [name, entry] : upper) {
        auto it = base.find(name);
        if (entry.override == override_kind::merge && it != base.end()) merge(it->second, entry);
        else base[name] = entry;
    }
}

} // namespace

namespace detail {

void merge_service(service& s, const service& o) {
    set_if_nonempty(s.summary, o.summary);
    set_if_nonempty(s.description, o.description);
    set_if_nonempty(s.startup, o.startup);
    set_if_nonempty(s.command, o.command);
    set_if(s.kill_delay, o.kill_delay);
    set_if(s.user_id, o.user_id);
    set_if_nonempty(s.user, o.user);
    set_if(s.group_id, o.group_id);
    set_if_nonempty(s.group, o.group);
    set_if_nonempty(s.working_dir, o.working_dir);
    append(s.after, o.after);
    append(s.before, o.before);
    append(s.requires_, o.requires_);
    set_if_nonempty(s.workload, o.workload);
    merge_map(s.environment, o.environment);
    set_if_nonempty(s.on_success, o.on_success);
    set_if_nonempty(s.on_failure, o.on_failure);
    merge_map(s.on_check_failure, o.on_check_failure);
    set_if(s.backoff_delay, o.backoff_delay);
    set_if(s.backoff_factor, o.backoff_factor);
    set_if(s.backoff_limit, o.backoff_limit);
}

void merge_check(check& c, const check& o) {
    set_if_nonempty(c.level, o.level);
    set_if_nonempty(c.startup, o.startup);
    set_if(c.period, o.period);
    set_if(c.timeout, o.timeout);
    if (o.threshold && *o.threshold != 0) c.threshold = o.threshold;
    if (o.http) {
        if (!c.http) c.http.emplace();
        set_if_nonempty(c.http->url, o.http->url);
        merge_map(c.http->headers, o.http->headers);
    }
    if (o.tcp) {
        if (!c.tcp) c.tcp.emplace();
        if (o.tcp->port && *o.tcp->port != 0) c.tcp->port = o.tcp->port;
        set_if_nonempty(c.tcp->host, o.tcp->host);
    }
    if (o.exec) {
        if (!c.exec) c.exec.emplace();
        set_if_nonempty(c.exec->command, o.exec->command);
        set_if_nonempty(c.exec->service_context, o.exec->service_context);
        merge_map(c.exec->environment, o.exec->environment);
        set_if(c.exec->user_id, o.exec->user_id);
        set_if_nonempty(c.exec->user, o.exec->user);
        set_if(c.exec->group_id, o.exec->group_id);
        set_if_nonempty(c.exec->group, o.exec->group);
        set_if_nonempty(c.exec->working_dir, o.exec->working_dir);
    }
}

void merge_log_target(log_target& t, const log_target& o) {
    set_if_nonempty(t.type, o.type);
    set_if_nonempty(t.location, o.location);
    append(t.services, o.services);
    merge_map(t.labels, o.labels);
}

} // namespace detail

void merge_into(layer& base, const layer& upper) {
    merge_entries(base.services, upper.services, merge_service);
    merge_entries(base.checks, upper.checks, merge_check);
    merge_entries(base.log_targets, upper.log_targets, merge_log_target);
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
