// `--format json|yaml`: the machine-readable report of plan, apply, status and diff (docs/cli.md,
// "Machine-readable output"). One document tree, printed as JSON or as YAML.
#include "cli.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <redispebble/utf8.hpp>

#include <cstdio>
#include <stdexcept>

namespace redispebble::cli {

namespace json = boost::json;

namespace {

json::array differences_array(const std::vector<difference>& diffs) {
    json::array a;
    for (const auto& d : diffs) a.push_back(json::object{{"path", d.path}, {"current", d.current}, {"desired", d.desired}});
    return a;
}

json::array strings(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.push_back(json::string(s));
    return a;
}

json::value yaml_to_json(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Map: {
        json::object o;
        for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
        return o;
    }
    case YAML::NodeType::Sequence: {
        json::array a;
        for (const auto& e : n) a.push_back(yaml_to_json(e));
        return a;
    }
    case YAML::NodeType::Scalar: return json::string(n.Scalar());
    default: return nullptr;
    }
}

void emit_yaml(YAML::Emitter& out, const json::value& v) {
    switch (v.kind()) {
    case json::kind::object:
        out << YAML::BeginMap;
        for (const auto& kv : v.get_object()) {
            out << YAML::Key << std::string(kv.key().data(), kv.key().size()) << YAML::Value;
            emit_yaml(out, kv.value());
        }
        out << YAML::EndMap;
        break;
    case json::kind::array:
        out << YAML::BeginSeq;
        for (const auto& e : v.get_array()) emit_yaml(out, e);
        out << YAML::EndSeq;
        break;
    // Strings always double-quoted: "600" stays a string, "yes" is no YAML 1.1 boolean.
    case json::kind::string: out << YAML::DoubleQuoted << std::string(v.get_string().data(), v.get_string().size()); break;
    case json::kind::bool_: out << (v.get_bool() ? "true" : "false"); break;
    case json::kind::int64: out << v.get_int64(); break;
    case json::kind::uint64: out << v.get_uint64(); break;
    case json::kind::double_: out << v.get_double(); break;
    case json::kind::null: out << YAML::Null; break;
    }
}

// JSON and YAML are UTF-8: a byte that does not start a well-formed sequence (Redis's or the OS's
// words can carry any) becomes U+FFFD, so the document always parses.
std::string valid_text(std::string_view s) {
    std::string out;
    for (;;) {
        const std::size_t bad = invalid_utf8_at(s);
        if (bad == std::string_view::npos) break;
        out.append(s.substr(0, bad));
        out.append("\xEF\xBF\xBD");
        s.remove_prefix(bad + 1);
    }
    out.append(s);
    return out;
}

void make_valid(json::value& v) {
    switch (v.kind()) {
    case json::kind::object:
        for (auto& kv : v.get_object()) make_valid(kv.value());
        break;
    case json::kind::array:
        for (auto& e : v.get_array()) make_valid(e);
        break;
    case json::kind::string: {
        const std::string_view sv(v.get_string().data(), v.get_string().size());
        if (!valid_utf8(sv)) v = json::string(valid_text(sv));
        break;
    }
    default: break;
    }
}

} // namespace

output_format parse_format(const std::string& value) {
    if (value == "text") return output_format::text;
    if (value == "json") return output_format::json;
    if (value == "yaml") return output_format::yaml;
    throw usage_error(fmt::format("--format: expected json, yaml or text, got \"{}\"", value));
}

json::object report_document(std::string_view command, const decision& d, const reconcile_report* r) {
    json::object o;
    o["schema"] = json::string(report_schema);
    o["command"] = json::string(command);
    o["status"] = json::string(to_string(r ? r->status : d.status_after));
    o["message"] = json::string(r ? r->message : d.message);
    o["retry-later"] = r ? r->retry_later : d.retry_later;
    o["actions-done"] = r ? strings(r->actions_done) : json::array{};
    o["differences"] = differences_array(d.differences);
    o["overridden"] = differences_array(d.overridden);
    json::array push;
    for (const auto& f : d.push)
        push.push_back(json::object{{"path", f.path}, {"permissions", f.permissions}, {"user", f.user},
                                    {"group", f.group}, {"origin", f.origin}});
    o["push"] = std::move(push);
    if (d.storage) {
        const auto& s = *d.storage;
        o["storage-fix"] = json::object{{"path", s.path}, {"user", s.user}, {"group", s.group},
                                        {"permissions", s.permissions}, {"make", s.make}, {"chown", s.chown}};
    } else {
        o["storage-fix"] = nullptr;
    }
    o["add-layer"] = d.add_layer.has_value();
    o["restart"] = strings(d.restart);
    o["start"] = strings(d.start);
    o["retired"] = strings(d.retired);
    o["warnings"] = strings(d.warnings);
    o["stop-checks"] = strings(d.stop_checks);
    o["stop"] = strings(d.stop);
    o["remove"] = strings(d.remove);
    o["missing-resources"] = strings(d.missing_resources);
    o["flags"] = json::string(d.flags);
    if (r && !r->redis_state.empty()) o["redis-state"] = json::string(r->redis_state);
    else o["redis-state"] = nullptr;
    if (r && r->failed_step) o["failed-step"] = json::string(*r->failed_step);
    else o["failed-step"] = nullptr;
    o["attempts"] = r ? r->attempts : 0;
    return o;
}

json::value layer_value(const layer& l) {
    // The text form's YAML (redacted), as a tree: every scalar is a string as Pebble's YAML has it.
    return yaml_to_json(YAML::Load(to_yaml(redact(l))));
}

void print_document(const json::object& document, output_format f) {
    json::value doc(document);
    make_valid(doc);
    if (f == output_format::yaml) {
        YAML::Emitter out;
        emit_yaml(out, doc);
        if (!out.good()) throw std::runtime_error("cannot write the report as YAML: " + out.GetLastError());
        fmt::print("{}\n", out.c_str());
    } else {
        fmt::print("{}\n", json::serialize(doc));
    }
    std::fflush(stdout);
}

} // namespace redispebble::cli
