// GET /v1/plan's plan and POST /v1/layers, over the plan manager's layers (Pebble's api_plan.go,
// api_layers.go, planstate); $PEBBLE/layers read at start-up as `pebble run` does.
#include "daemon.hpp"

namespace redispebble::testing {

namespace {

// Pebble's configEntryRegexp (internals/plan/plan.go): "NNN-label.yaml" or "NNN-label.d".
const std::regex& config_entry_regexp() {
    static const std::regex re(R"(^([0-9]{3})-([a-z](?:-?[a-z0-9]){2,})(.yaml|.d)$)");
    return re;
}

struct config_entry {
    std::string name;
    int order = 0;
    std::string label;
};

// configLayerEntries: the valid entries of one level, sorted by name (os.ReadDir's order).
std::vector<config_entry> config_layer_entries(const fs::path& dir, bool dir_ok) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
    if (ec) throw std::runtime_error(fmt::format("cannot read layers directory: open {}: {}", dir.string(), ec.message()));
    std::sort(names.begin(), names.end());
    std::vector<config_entry> out;
    std::map<int, std::string> orders;
    std::map<std::string, int> labels;
    auto ends_with = [](const std::string& s, std::string_view suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (const auto& name : names) {
        // Unrelated files do not stop the daemon from starting.
        if (!ends_with(name, ".yaml") && !ends_with(name, ".d")) continue;
        const bool is_dir = fs::is_directory(dir / name, ec);  // follows symlinks, as os.Stat
        std::smatch m;
        if (!std::regex_match(name, m, config_entry_regexp())) {
            if (is_dir)
                throw std::runtime_error(fmt::format(
                    "invalid layer sub-directory name: \"{}\" (must look like \"123-some-label.d\")", name));
            throw std::runtime_error(
                fmt::format("invalid layer filename: \"{}\" (must look like \"123-some-label.yaml\")", name));
        }
        if (is_dir && !dir_ok) throw std::runtime_error("cannot have a layers sub-directory at this level");
        const std::string label = m[2];
        const int order = std::stoi(m[1]);
        auto dup_order = orders.find(order);
        auto dup_label = labels.find(label);
        if (dup_order != orders.end() || dup_label != labels.end()) {
            const int old_order = dup_order != orders.end() ? order : dup_label->second;
            const std::string old_label = dup_order != orders.end() ? dup_order->second : label;
            throw std::runtime_error(fmt::format("invalid layer filename: \"{}\" not unique (have \"{:03}-{}.yaml\" already)",
                                                 name, old_order, old_label));
        }
        orders[order] = label;
        labels[label] = order;
        out.push_back({name, order, label});
    }
    return out;
}

// Pebble's ParseLayer for a layer file: YAML errors as "cannot parse layer <label>: ...", then
// Layer.Validate.
layer load_config_layer(const fs::path& path, const std::string& label) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("cannot read layer file: open {}: {}", path.string(), std::strerror(errno)));
    std::stringstream buf;
    buf << in.rdbuf();
    layer l;
    try {
        l = parse_layer(buf.str(), label);
    } catch (const input_error& e) {
        throw std::runtime_error(fmt::format("cannot parse layer \"{}\": {}", label, e.message()));
    }
    try {
        validate_layer(l, label);
    } catch (const input_error& e) {
        throw std::runtime_error(e.message());
    }
    return l;
}

// ReadDir + ReadLayersDir: the layers of `dir` in order (none when it does not exist), the combined
// plan validated. Throws std::runtime_error with Pebble's message, as `pebble run` fails.
std::vector<stacked_layer> read_layers_dir(const std::string& dir) {
    std::vector<stacked_layer> out;
    std::error_code ec;
    if (dir.empty() || !fs::exists(dir, ec)) return out;
    for (const auto& l1 : config_layer_entries(dir, true)) {
        const fs::path l1_path = fs::path(dir) / l1.name;
        if (fs::is_directory(l1_path, ec)) {
            for (const auto& l2 : config_layer_entries(l1_path, false))
                out.push_back({l1.label + "/" + l2.label, 1000 * l1.order + l2.order,
                               load_config_layer(l1_path / l2.name, l1.label + "/" + l2.label)});
        } else {
            out.push_back({l1.label, 1000 * l1.order, load_config_layer(l1_path, l1.label)});
        }
    }
    std::vector<layer> ls;
    for (const auto& l : out) ls.push_back(l.content);
    try {
        validate_plan(combine(ls));
    } catch (const input_error& e) {
        throw std::runtime_error(e.message());
    }
    return out;
}

} // namespace

layer plan_state::plan_locked() const {
    std::vector<layer> ls;
    for (const auto& l : layers) ls.push_back(l.content);
    return combine(ls);
}

// What `pebble run` does at start-up: read $PEBBLE/layers, then (without --hold) start the
// services whose startup is enabled, as the "autostart" action does.
void pebble_server::impl::load_layers_dir_locked() {
    layers = read_layers_dir(opts.layers_dir);
    // As Pebble's daemon start-up (CheckManager.PlanChanged with the plan it read): the enabled
    // checks of $PEBBLE/layers begin in their perform-check change, so POST /v1/checks can stop them.
    checks.plan_changed_locked(plan_locked());
}

reply pebble_server::impl::add_layer(const json::object& o) {
    if (str_of(o, "action") != "add") return error(400, fmt::format("invalid action \"{}\"", str_of(o, "action")));
    const std::string label = str_of(o, "label");
    if (label.empty()) return error(400, "label must be set");
    if (str_of(o, "format") != "yaml") return error(400, fmt::format("invalid format \"{}\"", str_of(o, "format")));
    // Pebble checks the label while parsing, so its error carries the parse prefix.
    if (label.rfind("pebble-", 0) == 0)
        return error(400, "cannot parse layer YAML: cannot use reserved label prefix \"pebble-\"");
    layer l;
    const std::string text = str_of(o, "layer");
    try {
        l = parse_layer(text, "layer");
    } catch (const input_error& e) {
        std::string msg = e.message();
        const std::string syntax = "cannot parse YAML: ";
        if (msg.rfind(syntax, 0) == 0) {
            // A YAML syntax error: go-yaml's words and line (the last line at end of input).
            msg = msg.substr(syntax.size());
            if (msg.find("flow not found") != std::string::npos) msg = "did not find expected node content";
            int lines = int(std::count(text.begin(), text.end(), '\n'));
            if (!text.empty() && text.back() != '\n') ++lines;
            const int line = std::max(1, std::min(e.line() > 0 ? e.line() : lines, std::max(lines, 1)));
            return error(400, fmt::format("cannot parse layer YAML: cannot parse layer \"{}\": yaml: line {}: {}",
                                          label, line, msg));
        }
        return error(400, "cannot parse layer YAML: " + msg);
    }
    try {
        validate_layer(l, label);
    } catch (const input_error& e) {
        // Layer.Validate runs inside ParseLayer (its errors carry the parse prefix); the
        // override check is CombineLayers' and the check-type one Plan.Validate's (no prefix).
        const bool combine_or_plan = e.message().rfind("plan must", 0) == 0 ||
                                     (e.key().size() >= 9 && e.key().compare(e.key().size() - 9, 9, ".override") == 0);
        return error(400, (combine_or_plan ? "" : "cannot parse layer YAML: ") + e.message());
    }
    std::lock_guard<std::mutex> lock(m);
    // planstate's CombineLayer / AppendLayer: combining into an existing label merges into that
    // layer at its place (layers above it still win); a new label is appended, or inserted
    // after its sub-directory's last layer ("dir/label", only with inner).
    std::vector<stacked_layer> next = layers;
    auto it = std::find_if(next.begin(), next.end(), [&](auto& x) { return x.label == label; });
    if (it != next.end()) {
        if (!bool_of(o, "combine")) return error(400, fmt::format("layer \"{}\" already exists", label));
        merge_into(it->content, l);
    } else {
        std::size_t index = 0;
        int order = 1000;
        if (!next.empty()) {
            const std::string sub = label.substr(0, label.find('/'));
            const bool has_sub = label.find('/') != std::string::npos;
            bool found = false;
            for (std::size_t i = next.size(); i-- > 0;)
                if (next[i].label.substr(0, next[i].label.find('/')) == sub) {
                    order = next[i].order + 1;
                    index = i + 1;
                    found = true;
                    break;
                }
            if (!found) {
                index = next.size();
                order = (next.back().order / 1000 + 1) * 1000 + (has_sub ? 1 : 0);
            }
            // Not a FormatError: Pebble answers it as an internal error.
            if (index != next.size() && !bool_of(o, "inner"))
                return error(500, "cannot insert sub-directory layer without 'inner' attribute set");
        }
        next.insert(next.begin() + static_cast<std::ptrdiff_t>(index), stacked_layer{label, order, l});
    }
    {
        std::vector<layer> ls;
        for (const auto& x : next) ls.push_back(x.content);
        try {
            validate_plan(combine(ls));  // Plan.Validate: the layer is refused, the plan kept
        } catch (const input_error& e) {
            return error(400, e.message());
        }
    }
    layers = std::move(next);
    // As Pebble's CheckManager.PlanChanged (a running check whose startup became disabled keeps
    // its change until it is stopped: POST /v1/checks stop).
    checks.plan_changed_locked(plan_locked());
    ++rec.layers_added;
    return sync(true);
}

} // namespace redispebble::testing
