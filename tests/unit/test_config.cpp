#include <redispebble/config.hpp>

#include <redispebble/error.hpp>
#include <redispebble/utf8.hpp>

#include "support/input_errors.hpp"

#include <catch2/catch.hpp>

using namespace redispebble;

namespace {
input_error config_error(const std::string& yaml) {
    return test::input_error_of([&] { return load_config(yaml, "config.yaml"); }, yaml);
}
input_error peer_error(const std::string& yaml) {
    return test::input_error_of([&] { return load_peer_data(yaml, "peer.yaml"); }, yaml);
}
} // namespace

TEST_CASE("An empty configuration gives every documented default", "[config]") {
    const redis_config cfg = load_config("", "config.yaml");
    INFO(to_yaml(cfg));
    CHECK(cfg == redis_config{});
    CHECK(load_config("{}\n") == redis_config{});
    // The defaults docs/inputs.md gives, key by key: a configuration with them set is the default one
    // (the companion options' defaults are checked in test_companions). GCC's -Wextra wants every
    // member without a default member initializer (logfile) named.
    CHECK(cfg == redis_config{.enable_tls = false, .port = 6379, .storage_path = "/var/lib/redis", .service_name = "redis",
                              .layer_label = "redis", .container_name = "redis", .user = "redis", .group = "redis",
                              .bind_address = "0.0.0.0", .secrets = secret_mode::config_file, .logfile = ""});
}

TEST_CASE("Every key is read and the YAML form round-trips", "[config]") {
    auto cfg = load_config("enable-tls: true\nport: 6380\nstorage-path: /data\nservice-name: cache\n"
                           "layer-label: cache-layer\ncontainer-name: workload\nuser: app\ngroup: app\n"
                           "bind-address: \"::\"\nsecrets: command-line\n");
    INFO(to_yaml(cfg));
    CHECK(cfg == redis_config{.enable_tls = true, .port = 6380, .storage_path = "/data", .service_name = "cache",
                              .layer_label = "cache-layer", .container_name = "workload", .user = "app", .group = "app",
                              .bind_address = "::", .secrets = secret_mode::command_line,
                              .logfile = ""});  // GCC's -Wextra wants the members without an initializer
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
    // More bad ports and booleans: test "Every configuration error has its exact text line and column".

    e = config_error("\nprot: 1\n");
    CHECK(e.line() == 2);
    CHECK(e.key() == "prot");
    CHECK(e.message().find("unknown key") != std::string::npos);
    CHECK(e.message().find("port") != std::string::npos);

    CHECK(config_error("storage-path: [a, b]\n").message() == "expected a string, got a list");
    CHECK(config_error("secrets: argv\n").key() == "secrets");
    // More bad paths, names and addresses: test "Paths names and addresses are checked with the key and line".
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

TEST_CASE("Every configuration error has its exact text line and column", "[config]") {
    auto e = config_error("port: 6380\nenable-tls: 3\n");
    CHECK(std::string(e.what()) == "config.yaml:2:13: \"enable-tls\": expected a boolean (true or false), got \"3\"");
    e = config_error("enable-tls: true\n\nprot: 1\n");
    CHECK(e.line() == 3);
    CHECK(e.column() == 1);
    CHECK(e.key() == "prot");
    CHECK(e.message() ==
          "unknown key \"prot\"; known keys: enable-tls, port, storage-path, service-name, layer-label, container-name, "
          "user, group, bind-address, secrets, tls-auth-clients, appendonly, logfile, health-checks, check-period, "
          "check-timeout, check-threshold, on-check-failure, metrics, metrics-port, sentinel, sentinel-port, "
          "sentinel-master-name, sentinel-quorum, sentinel-down-after-milliseconds, sentinel-failover-timeout, "
          "sentinel-parallel-syncs, sentinel-container-name, sentinel-service-name, sentinel-layer-label, "
          "sentinel-config-path");
    e = config_error("enable-tls: yes\n");
    CHECK(e.message().find("yes/no/on/off are not accepted") != std::string::npos);
    for (const char* bad : {"yes", "True", "\"true\"", "3", "1", "''", "~"}) {
        INFO(bad);
        e = config_error(std::string("port: 1\nenable-tls: ") + bad + "\n");
        CHECK(e.key() == "enable-tls");
        CHECK(e.line() == 2);
        CHECK(e.message().rfind("expected a boolean (true or false), got ", 0) == 0);
    }
    CHECK(config_error("enable-tls: [true]\n").message() == "expected a boolean (true or false), got a list");
    for (const char* bad : {"0", "65536", "70000", "\"6379\"", "-1", "1.5", "99999999999", "0x10", "''", "06379", "0o14353", "+80", "6_379"}) {
        INFO(bad);
        e = config_error(std::string("secrets: config-file\nport: ") + bad + "\n");
        CHECK(e.key() == "port");
        CHECK(e.line() == 2);
        CHECK(e.column() == 7);
        CHECK(e.message().rfind("expected an integer from 1 to 65535, got ", 0) == 0);
    }
    // An empty value is named at its key: yaml-cpp marks a null at the next token, which named line
    // 3 column 1 here, past the end of the input, and line 1 for "port:" with no newline.
    for (const std::string yaml : {"secrets: config-file\nport:\n", "secrets: config-file\nport:", "secrets: config-file\nport:\nlogfile: x\n"}) {
        INFO(yaml);
        e = config_error(yaml);
        CHECK(e.key() == "port");
        CHECK(e.line() == 2);
        CHECK(e.column() == 1);
        CHECK(e.message() == "expected an integer from 1 to 65535, got nothing");
    }
    CHECK(load_config("port: 1\n").port == 1);
    CHECK(load_config("port: 65535\n").port == 65535);
}

TEST_CASE("Paths names and addresses are checked with the key and line", "[config]") {
    for (const std::string bad : {"data", "relative/dir"}) {
        INFO(bad);
        const input_error e = config_error("port: 1\nstorage-path: " + bad + "\n");
        CHECK(e.key() == "storage-path");
        CHECK(e.line() == 2);
        CHECK(e.message() == "expected an absolute path, got \"" + bad + "\"");
    }
    CHECK(config_error("storage-path: ''\n").key() == "storage-path");
    CHECK(config_error("storage-path: \"/a\\nb\"\n").message() == "must not contain a newline or NUL");
    CHECK(config_error("storage-path: \"/a\\0b\"\n").message() == "must not contain a newline or NUL");

    for (const char* key : {"service-name", "layer-label", "container-name"}) {
        for (const char* bad : {"Redis", "a_b", "a.b", "a b", "Bad Name", "''", "\"\""}) {
            INFO(key << " " << bad);
            const input_error e = config_error(std::string("\n") + key + ": " + bad + "\n");
            CHECK(e.key() == key);
            CHECK(e.line() == 2);
        }
        CHECK_NOTHROW(load_config(std::string(key) + ": my-redis-2\n"));
    }
    // layer-label: pebble-redis, Pebble's reserved prefix: test "layer-label starting with pebble- is refused as Pebble refuses it".
    for (const char* key : {"user", "group"}) {
        for (const char* bad : {"-x", "a b", "a:b", "''"}) {
            INFO(key << " " << bad);
            CHECK(config_error(std::string(key) + ": " + bad + "\n").key() == key);
        }
        CHECK_NOTHROW(load_config(std::string(key) + ": _Redis.user-1\n"));
    }

    for (const char* good : {"0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "2001:db8::8a2e:370:7334",
                             "1:2:3:4:5:6:7:8", "1::", "::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "ABCD::ef"}) {
        INFO(good);
        CHECK(load_config(std::string("bind-address: \"") + good + "\"\n").bind_address == good);
    }
    for (const char* bad : {"", "256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.", "localhost", "1:2:3:4:5:6:7:8:9",
                            "1:2:3:4:5:6:7", ":::", "1::2::3", ":1::", "12345::", "fe80::1%eth0", "*", "-::1",
                            " 1.2.3.4", "::1.2.3.4.5", "1.2.3.4::", "--port", "a b"}) {
        INFO(bad);
        const input_error e = config_error(std::string("port: 1\nbind-address: \"") + bad + "\"\n");
        CHECK(e.key() == "bind-address");
        CHECK(e.line() == 2);
        CHECK(e.message().find("expected an IPv4 or IPv6 address") == 0);
    }
}

TEST_CASE("validate checks every rule for a configuration built in code", "[config]") {
    auto rejects = [](auto change, const char* key) {
        redis_config cfg;
        change(cfg);
        try {
            validate(cfg);
            return false;
        } catch (const input_error& e) {
            return e.key() == key && e.line() == 0;
        }
    };
    CHECK(rejects([](redis_config& c) { c.storage_path = std::string("/a\0b", 4); }, "storage-path"));
    CHECK(rejects([](redis_config& c) { c.storage_path = ""; }, "storage-path"));
    // Re-owned recursively: never the root, nor a path that reaches it or another place by "..".
    for (const char* p : {"/", "//", "/var//redis", "/var/lib/redis/../../..", "/./data", "/data/.", "/data/../"}) {
        INFO(p);
        CHECK(rejects([p](redis_config& c) { c.storage_path = p; }, "storage-path"));
    }
    CHECK_NOTHROW([] { redis_config c; c.storage_path = "/srv/redis-data.1"; validate(c); }());
    CHECK_NOTHROW([] { redis_config c; c.storage_path = "/srv/redis/"; validate(c); }());  // a trailing / is the same directory
    CHECK(rejects([](redis_config& c) { c.service_name = ""; }, "service-name"));
    CHECK(rejects([](redis_config& c) { c.layer_label = "pebble-x"; }, "layer-label"));
    // std::string("X"), not "X": assigning a one-character literal trips GCC 12's false
    // -Wrestrict at -O3 (https://gcc.gnu.org/bugzilla/show_bug.cgi?id=105329).
    CHECK(rejects([](redis_config& c) { c.container_name = std::string("X"); }, "container-name"));
    CHECK(rejects([](redis_config& c) { c.user = ""; }, "user"));
    CHECK(rejects([](redis_config& c) { c.group = "-g"; }, "group"));
    CHECK(rejects([](redis_config& c) { c.bind_address = "0.0.0.0 ::"; }, "bind-address"));
}

TEST_CASE("Peer data errors name the key and line and never show the password", "[config]") {
    const std::string pw = "hunter2";
    auto e = peer_error("hostname: h\nadmin-password: \"hunter2\\0\"\n");
    CHECK(e.key() == "admin-password");
    CHECK(e.line() == 2);
    CHECK(e.message() == "must not contain a NUL byte");
    CHECK(std::string(e.what()).find(pw) == std::string::npos);
    // yaml-cpp quotes the bad escape character; for peer data that part is withheld.
    e = peer_error("admin-password: \"hunter2\\qZ\"\n");
    CHECK(std::string(e.what()).find("invalid YAML") != std::string::npos);
    CHECK(std::string(e.what()).find(": q") == std::string::npos);
    e = peer_error("admin-password: {a: hunter2}\n");
    CHECK(std::string(e.what()).find(pw) == std::string::npos);
    CHECK(e.message() == "expected a string, got something else");

    e = peer_error("current-master: m\nhostname: --port\n");
    CHECK(e.key() == "hostname");
    CHECK(e.line() == 2);
    CHECK(peer_error("current-master: a b\n").key() == "current-master");
    CHECK(peer_error("current-master: '['\n").key() == "current-master");
    CHECK(peer_error("hostname: x\nhostname: y\n").message() == "appears twice");
    CHECK(peer_error("hostname: [a]\n").message() == "expected a string, got a list");
    auto ok = load_peer_data("current-master: redis-0.redis-endpoints.model.svc.cluster.local\nhostname: \"10.1.2.3\"\n"
                             "admin-password: \"p a\\\"s's$w\\\\ord#\xc3\xa9\"\n");
    CHECK(ok.admin_password.reveal() == "p a\"s's$w\\ord#\xc3\xa9");
    CHECK(ok.hostname == "10.1.2.3");
    CHECK(load_peer_data("") == peer_data{});
}

TEST_CASE("validate of peer data rejects invalid UTF-8 without showing it", "[config]") {
    peer_data p{secret("hunter2\xff"), "m", "h"};
    try {
        validate(p);
        FAIL("no exception");
    } catch (const input_error& e) {
        CHECK(e.key() == "admin-password");
        CHECK(e.message().find("UTF-8") != std::string::npos);
        CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    }
    for (const char* bad : {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
        INFO(bad);
        CHECK_THROWS_AS(validate(peer_data{secret(bad), "m", "h"}), input_error);
    }
    CHECK_NOTHROW(validate(peer_data{secret("\xe2\x82\xac\xf0\x9f\x98\x80"), "m", "h"}));
    CHECK_NOTHROW(validate(peer_data{}));  // nothing set yet is not an error
}

// Issue 8, point 3.
TEST_CASE("tls-auth-clients takes yes no and optional and defaults to optional", "[config][tls]") {
    CHECK(redis_config{}.tls_auth_clients == tls_client_auth::optional);
    CHECK(load_config("").tls_auth_clients == tls_client_auth::optional);
    CHECK(load_config("tls-auth-clients: yes\n").tls_auth_clients == tls_client_auth::yes);
    CHECK(load_config("tls-auth-clients: no\n").tls_auth_clients == tls_client_auth::no);
    CHECK(load_config("tls-auth-clients: \"no\"\n").tls_auth_clients == tls_client_auth::no);
    CHECK(load_config("tls-auth-clients: optional\n").tls_auth_clients == tls_client_auth::optional);
    for (auto a : {tls_client_auth::yes, tls_client_auth::no, tls_client_auth::optional}) {
        redis_config cfg;
        cfg.tls_auth_clients = a;
        CHECK(load_config(to_yaml(cfg)) == cfg);
    }
    for (const char* bad : {"maybe", "true", "Yes", "[yes]"}) {
        INFO(bad);
        auto e = config_error(std::string("\ntls-auth-clients: ") + bad + "\n");
        CHECK(e.key() == "tls-auth-clients");
        CHECK(e.line() == 2);
    }
    CHECK(config_error("tls-auth-clients: maybe\n").message() == "expected \"yes\", \"no\" or \"optional\", got \"maybe\"");
}

// Issue 8, point 4: Pebble v1.26's rules (internals/plan/plan.go Layer.Validate) for what our
// inputs put in its layer, checked before any I/O with Pebble's words and the key.
TEST_CASE("service-name pebble is refused as Pebble refuses it", "[config][pebble-names]") {
    auto e = config_error("service-name: pebble\n");
    CHECK(e.key() == "service-name");
    CHECK(e.line() == 1);
    CHECK(e.message().find("cannot use reserved service name \"pebble\"") != std::string::npos);
}

TEST_CASE("service-name starting with a dash is refused as Pebble refuses it", "[config][pebble-names]") {
    auto e = config_error("service-name: -redis\n");
    CHECK(e.key() == "service-name");
    CHECK(e.message().find("cannot use service name \"-redis\": starting with \"-\" not allowed") != std::string::npos);
}

TEST_CASE("service-name that Pebble deprecates as a keyword is refused with the reason", "[config][pebble-names]") {
    for (const char* keyword : {"all", "default", "none"}) {
        INFO(keyword);
        auto e = config_error(std::string("service-name: ") + keyword + "\n");
        CHECK(e.key() == "service-name");
        CHECK(e.message().find("deprecated") != std::string::npos);
    }
    CHECK_NOTHROW(load_config("service-name: all-redis\n"));
    CHECK_NOTHROW(load_config("service-name: pebble-redis\n"));  // only the exact name is reserved
}

TEST_CASE("layer-label starting with pebble- is refused as Pebble refuses it", "[config][pebble-names]") {
    auto e = config_error("layer-label: pebble-redis\n");
    CHECK(e.key() == "layer-label");
    CHECK(e.message().find("cannot use reserved label prefix \"pebble-\"") != std::string::npos);
    CHECK_NOTHROW(load_config("layer-label: redis-pebble\n"));
}

TEST_CASE("An empty service-name or layer-label is refused as Pebble refuses it", "[config][pebble-names]") {
    // Pebble: "cannot use empty string as service name", "label must be set".
    CHECK(config_error("service-name: ''\n").key() == "service-name");
    CHECK(config_error("layer-label: ''\n").key() == "layer-label");
}

TEST_CASE("validate applies Pebble's name rules to a configuration built in code", "[config][pebble-names]") {
    for (const char* name : {"pebble", "-redis", "all", "default", "none"}) {
        INFO(name);
        redis_config cfg;
        cfg.service_name = name;
        try {
            validate(cfg);
            FAIL("accepted");
        } catch (const input_error& e) {
            CHECK(e.key() == "service-name");
        }
    }
}

TEST_CASE("Invalid UTF-8 in a configuration or peer data is refused with its place", "[config][fuzz]") {
    try {
        (void)load_config("storage-path: \"/\xff\"\n", "config.yaml");
        FAIL("accepted invalid UTF-8");
    } catch (const input_error& e) {
        CHECK(e.message().find("UTF-8") != std::string::npos);
        CHECK(e.line() == 1);
    }
    CHECK_THROWS_AS(load_config("user: r\xc3\n"), input_error);
    redis_config cfg;
    cfg.storage_path = "/\xff";
    try {
        validate(cfg);
        FAIL("validate accepted invalid UTF-8");
    } catch (const input_error& e) {
        CHECK(e.key() == "storage-path");
    }
    cfg.storage_path = "/var/lib/caf\xc3\xa9";  // valid UTF-8 stays fine
    CHECK_NOTHROW(validate(cfg));
    try {
        (void)load_peer_data("admin-password: \"pw\xff\"\nhostname: h\n", "peer.yaml");
        FAIL("accepted invalid UTF-8");
    } catch (const input_error& e) {
        CHECK(std::string(e.what()).find("pw") == std::string::npos);
    }
}

TEST_CASE("go_quote writes a string as Go's strconv.Quote does for Pebble's messages", "[config]") {
    using redispebble::go_quote;
    CHECK(go_quote("") == "\"\"");
    CHECK(go_quote("/var/lib/redis") == "\"/var/lib/redis\"");
    CHECK(go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(go_quote("\a\b\f\n\r\t\v") == "\"\\a\\b\\f\\n\\r\\t\\v\"");
    CHECK(go_quote(std::string("\x01\x1f\x7f", 3)) == "\"\\x01\\x1f\\x7f\"");
    CHECK(go_quote(std::string(1, '\0')) == "\"\\x00\"");
    CHECK(go_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");  // bytes of 0x80 and above as they are
}
