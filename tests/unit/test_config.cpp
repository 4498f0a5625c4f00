#include <redispebble/config.hpp>

#include <redispebble/error.hpp>

#include <catch2/catch.hpp>

using namespace redispebble;

namespace {
input_error config_error(const std::string& yaml) {
    try {
        (void)load_config(yaml, "config.yaml");
    } catch (const input_error& e) {
        return e;
    }
    FAIL("no error for: " << yaml);
    throw;
}
input_error peer_error(const std::string& yaml) {
    try {
        (void)load_peer_data(yaml, "peer.yaml");
    } catch (const input_error& e) {
        return e;
    }
    FAIL("no error for: " << yaml);
    throw;
}
} // namespace

TEST_CASE("An empty configuration gives every documented default", "[config]") {
    auto cfg = load_config("", "config.yaml");
    CHECK(cfg == redis_config{});
    CHECK_FALSE(cfg.enable_tls);
    CHECK(cfg.port == 6379);
    CHECK(cfg.storage_path == "/var/lib/redis");
    CHECK(cfg.service_name == "redis");
    CHECK(cfg.layer_label == "redis");
    CHECK(cfg.user == "redis");
    CHECK(cfg.bind_address == "0.0.0.0");
    CHECK(cfg.secrets == secret_mode::config_file);
    CHECK(load_config("{}\n") == redis_config{});
}

TEST_CASE("Every key is read and the YAML form round-trips", "[config]") {
    auto cfg = load_config("enable-tls: true\nport: 6380\nstorage-path: /data\nservice-name: cache\n"
                           "layer-label: cache-layer\ncontainer-name: workload\nuser: app\ngroup: app\n"
                           "bind-address: \"::\"\nsecrets: command-line\n");
    CHECK(cfg.enable_tls);
    CHECK(cfg.port == 6380);
    CHECK(cfg.storage_path == "/data");
    CHECK(cfg.service_name == "cache");
    CHECK(cfg.layer_label == "cache-layer");
    CHECK(cfg.container_name == "workload");
    CHECK(cfg.user == "app");
    CHECK(cfg.bind_address == "::");
    CHECK(cfg.secrets == secret_mode::command_line);
    CHECK(load_config(to_yaml(cfg)) == cfg);
}

TEST_CASE("Configuration errors name the file the line the key and what was expected", "[config]") {
    auto e = config_error("port: 6380\nenable-tls: maybe\n");
    CHECK(e.source() == "config.yaml");
    CHECK(e.line() == 2);
    CHECK(e.key() == "enable-tls");
    CHECK(std::string(e.what()) == "config.yaml:2:13: \"enable-tls\": expected a boolean (true or false), got \"maybe\"");

    e = config_error("port: abc\n");
    CHECK(e.line() == 1);
    CHECK(e.message() == "expected an integer from 1 to 65535, got \"abc\"");
    CHECK(config_error("port: 70000\n").key() == "port");
    CHECK(config_error("port: 0\n").key() == "port");
    CHECK(config_error("port: \"6379\"\n").key() == "port");
    CHECK(config_error("port:\n").key() == "port");
    CHECK(config_error("enable-tls: yes\n").key() == "enable-tls");
    CHECK(config_error("enable-tls: \"true\"\n").key() == "enable-tls");

    e = config_error("\nprot: 1\n");
    CHECK(e.line() == 2);
    CHECK(e.key() == "prot");
    CHECK(e.message().find("unknown key") != std::string::npos);
    CHECK(e.message().find("port") != std::string::npos);

    CHECK(config_error("storage-path: relative/dir\n").key() == "storage-path");
    CHECK(config_error("storage-path: [a, b]\n").message() == "expected a string, got a list");
    CHECK(config_error("service-name: \"\"\n").key() == "service-name");
    CHECK(config_error("service-name: Bad Name\n").key() == "service-name");
    CHECK(config_error("layer-label: pebble-x\n").message().find("reserved") != std::string::npos);
    CHECK(config_error("secrets: argv\n").key() == "secrets");
    CHECK(config_error("bind-address: 'a b'\n").key() == "bind-address");
    CHECK(config_error("port: 1\nport: 2\n").message() == "appears twice");
    CHECK(config_error("- a\n- b\n").message() == "expected a mapping of keys to values");
    e = config_error("port: [\n");
    CHECK(e.line() >= 1);
    CHECK(e.message().find("invalid YAML") != std::string::npos);
}

TEST_CASE("validate applies the same rules to a configuration built in code", "[config]") {
    redis_config cfg;
    CHECK_NOTHROW(validate(cfg));
    cfg.storage_path = "var/lib/redis";
    CHECK_THROWS_WITH(validate(cfg), Catch::Contains("storage-path"));
    cfg = {};
    cfg.port = 0;
    CHECK_THROWS_WITH(validate(cfg), Catch::Contains("port"));
}

TEST_CASE("Peer data loads and its errors never show the password", "[config]") {
    auto peer = load_peer_data("admin-password: \"p a:s#s\"\ncurrent-master: redis-0\nhostname: redis-1\n");
    CHECK(peer.admin_password.reveal() == "p a:s#s");
    CHECK(peer.current_master == "redis-0");
    CHECK(peer.hostname == "redis-1");
    CHECK(peer.complete());
    CHECK_FALSE(peer.is_master());

    auto partial = load_peer_data("admin-password:\ncurrent-master: m\n");
    CHECK(partial.admin_password.empty());
    CHECK_FALSE(partial.complete());

    auto e = peer_error("admin-password: [hunter2, x]\n");
    CHECK(e.key() == "admin-password");
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    CHECK(peer_error("masterr: x\n").key() == "masterr");
}
