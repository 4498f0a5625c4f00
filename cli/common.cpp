#include "cli.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace redispebble::cli {

options parse_options(std::string_view command, const std::vector<std::string>& args,
                      const std::vector<std::string>& allowed) {
    options o;
    auto takes = [&](const std::string& name) {
        return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (a == "--") {
            o.positional.insert(o.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (a.rfind("--", 0) != 0) {
            o.positional.push_back(a);
            continue;
        }
        std::string value;
        bool has_value = false;
        if (auto eq = a.find('='); eq != std::string::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_value = true;
        }
        if (!takes(a)) throw usage_error(fmt::format("{}: unknown option {}", command, a));
        auto need_value = [&]() -> std::string {
            if (has_value) return value;
            if (i + 1 >= args.size()) throw usage_error(fmt::format("{}: option {} needs a value", command, a));
            return args[++i];
        };
        if (a == "--dry-run") o.dry_run = true;
        else if (a == "--verbose") o.verbose = true;
        else if (a == "--retry") o.retry = true;
        else if (a == "--config") o.config_file = need_value();
        else if (a == "--peer") o.peer_file = need_value();
        else if (a == "--plan") o.plan_file = need_value();
        else if (a == "--hostname") o.hostname = need_value();
        else if (a == "--socket") o.socket = need_value();
        else if (a == "--sentinel-socket") o.sentinel_socket = need_value();
        else if (a == "--format") o.format = parse_format(need_value());
        else if (a == "--timeout") {
            std::string v = need_value();
            char* end = nullptr;
            double t = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !(t > 0) || t > 86400)
                throw usage_error(fmt::format("--timeout: expected seconds between 0 and 86400, got \"{}\"", v));
            o.timeout_seconds = t;
        } else if (a == "--resource") {
            std::string v = need_value();
            auto eq = v.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
                throw usage_error(fmt::format("--resource: expected NAME=PATH, got \"{}\"", v));
            std::string name = v.substr(0, eq);
            const auto& known = certificate_resources();
            if (std::find(known.begin(), known.end(), name) == known.end())
                throw usage_error(fmt::format("--resource: unknown resource \"{}\" (known: cert-file, key-file, ca-cert-file)", name));
            o.resources[name] = v.substr(eq + 1);
        } else {
            throw usage_error(fmt::format("{}: unknown option {}", command, a));
        }
    }
    return o;
}

std::string examples_dir() {
    namespace fs = std::filesystem;
    std::vector<fs::path> dirs;
    // Installed beside this executable (bin/../share/redispebble/examples): a package or an install
    // with `cmake --install --prefix` that moved the tree away from CMAKE_INSTALL_PREFIX.
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) dirs.push_back((self.parent_path() / REDISPEBBLE_EXAMPLES_FROM_BINDIR).lexically_normal());
    dirs.emplace_back(REDISPEBBLE_EXAMPLES_DIR);
    dirs.emplace_back(REDISPEBBLE_INSTALLED_EXAMPLES_DIR);
    for (const fs::path& dir : dirs)
        if (fs::exists(dir / "config.yaml", ec)) return dir.string();
    throw usage_error("no example inputs found: give --config and --peer");
}

std::string read_text_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error(fmt::format("cannot read {} \"{}\": {}", what, path, std::strerror(errno)));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw usage_error(fmt::format("cannot read {} \"{}\"", what, path));
    return ss.str();
}

desired_state load_desired(const options& opts) {
    desired_state d;
    if (opts.config_file) d.config = load_config(read_text_file(*opts.config_file, "config file"), *opts.config_file);
    if (opts.peer_file) d.peer = load_peer_data(read_text_file(*opts.peer_file, "peer-data file"), *opts.peer_file);
    if (opts.hostname) {
        if (opts.hostname->empty()) throw usage_error("--hostname: must not be empty");
        d.peer.hostname = *opts.hostname;
    } else if (d.peer.hostname.empty()) {
        char buf[256] = {};
        if (::gethostname(buf, sizeof buf - 1) == 0) d.peer.hostname = buf;
    }
    for (const auto& [name, path] : opts.resources)
        d.resources[name] = secret(read_text_file(path, "resource " + name));
    return d;
}

namespace {

// A Pebble socket: the option when given (never empty), else the environment variable when set,
// else the container's socket where Juju mounts it.
std::string pebble_socket(const std::optional<std::string>& option, const char* option_name, const char* env_name,
                          const std::string& container) {
    if (option) {
        if (option->empty()) throw usage_error(std::string(option_name) + ": must not be empty");
        return *option;
    }
    if (const char* env = std::getenv(env_name); env && *env) return env;
    return "/charm/containers/" + container + "/pebble.socket";
}

} // namespace

std::string socket_path(const options& opts, const redis_config& cfg) {
    return pebble_socket(opts.socket, "--socket", "PEBBLE_SOCKET", cfg.container_name);
}

std::string sentinel_socket_path(const options& opts, const redis_config& cfg) {
    return pebble_socket(opts.sentinel_socket, "--sentinel-socket", "SENTINEL_PEBBLE_SOCKET", cfg.sentinel_container_name);
}

int exit_for(unit_status s) {
    switch (s) {
    case unit_status::active: return exit_ok;
    case unit_status::waiting:
    case unit_status::maintenance: return exit_waiting;
    case unit_status::blocked: return exit_blocked;
    }
    return exit_failure;
}

void print_decision(const decision& d) {
    fmt::print("Decision: {}{}{}\n", to_string(d.status_after), d.message.empty() ? "" : ": ", d.message);
    if (!d.missing_resources.empty()) {
        std::string names;
        for (const auto& m : d.missing_resources) names += (names.empty() ? "" : ", ") + m;
        fmt::print("  missing resources: {}\n", names);
    }
    if (d.no_op()) {
        fmt::print("  actions: none\n");
    } else {
        fmt::print("  actions:\n");
        // The storage step comes first, as apply does it (docs/reconcile.md, "Storage").
        if (const auto& st = d.storage) {
            if (st->make)
                fmt::print("    make directory {} (make-dirs, owner {}:{}, mode {})\n", st->path, st->user, st->group,
                           st->permissions);
            if (st->chown) {
                std::string command;
                for (const auto& w : st->command) command += (command.empty() ? "" : " ") + w;
                fmt::print("    change the owner of {} to {}:{} (exec: {})\n", st->path, st->user, st->group, command);
            }
        }
        for (const auto& f : d.push)
            // No digest of the content: the secrets file's would be one more value derived from
            // the passwords (docs/inputs.md, "Threat model").
            fmt::print("    push {} (mode {}, owner {}:{}, from {})\n", f.path, f.permissions, f.user, f.group,
                       f.origin);
        if (d.add_layer) fmt::print("    add layer \"{}\" with combine\n", d.layer_label);
        for (const auto& e : d.retired) fmt::print("      retiring {} (override: replace, startup: disabled)\n", e);
        for (const auto& c : d.stop_checks) fmt::print("    stop check \"{}\"\n", c);
        for (const auto& s : d.stop) fmt::print("    stop service \"{}\"\n", s);
        for (const auto& f : d.remove) fmt::print("    remove {}\n", f);
        for (const auto& s : d.restart) fmt::print("    restart service \"{}\"\n", s);
        for (const auto& s : d.start) fmt::print("    start service \"{}\"\n", s);
    }
    fmt::print("  retry later: {}\n", d.retry_later ? "yes" : "no");
}

} // namespace redispebble::cli
