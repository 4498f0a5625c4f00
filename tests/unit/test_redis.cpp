#include <redispebble/redis.hpp>

#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <catch2/catch.hpp>

using namespace redispebble;
using words = std::vector<std::string>;

namespace {

peer_data peer(std::string password, std::string master, std::string host) {
    return {secret(std::move(password)), std::move(master), std::move(host)};
}

words argv_of(const std::vector<redis_flag>& flags) {
    words out;
    for (const auto& f : flags) {
        out.push_back("--" + f.name);
        out.insert(out.end(), f.values.begin(), f.values.end());
    }
    return out;
}

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("Master flags without TLS are in the charm's order", "[redis]") {
    redis_config cfg;
    auto flags = redis_flags(cfg, peer("pw", "redis-0", "redis-0"));
    CHECK(argv_of(flags) == words{"--requirepass", "pw", "--bind", "0.0.0.0", "--masterauth", "pw",
                                  "--replica-announce-ip", "redis-0", "--port", "6379"});
    CHECK(flags[0].is_secret);
    CHECK_FALSE(flags[1].is_secret);
    CHECK(flags[2].is_secret);
}

TEST_CASE("Replica flags with TLS interpolate the storage path and replicate over TLS", "[redis]") {
    redis_config cfg;
    cfg.enable_tls = true;
    cfg.port = 6380;
    cfg.storage_path = "/srv/redis/";
    auto flags = redis_flags(cfg, peer("pw", "redis-0", "redis-1"));
    CHECK(argv_of(flags) ==
          words{"--requirepass", "pw", "--bind", "0.0.0.0", "--masterauth", "pw", "--replica-announce-ip", "redis-1",
                "--tls-port", "6380", "--port", "0", "--tls-cert-file", "/srv/redis/redis.crt", "--tls-key-file",
                "/srv/redis/redis.key", "--tls-ca-cert-file", "/srv/redis/ca.crt", "--replicaof", "redis-0", "6380",
                "--tls-replication", "yes"});
    // The original design's bug: an uninterpolated placeholder.
    for (const auto& w : argv_of(flags)) CHECK_FALSE(contains(w, "{"));
}

TEST_CASE("Flags need complete peer data and name what is missing", "[redis]") {
    redis_config cfg;
    CHECK_THROWS_WITH(redis_flags(cfg, peer("", "m", "m")), Catch::Contains("admin-password"));
    CHECK_THROWS_WITH(redis_flags(cfg, peer("pw", "", "m")), Catch::Contains("current-master"));
    CHECK_THROWS_WITH(redis_flags(cfg, peer("pw", "m", "")), Catch::Contains("hostname"));
}

TEST_CASE("describe redacts the passwords", "[redis]") {
    auto text = describe(redis_flags({}, peer("hunter2", "m", "h")));
    CHECK(text == "--requirepass <redacted> --bind 0.0.0.0 --masterauth <redacted> --replica-announce-ip h "
                  "--port 6379 --replicaof m 6379");
}

TEST_CASE("The default layer keeps the password out of the command and the plan", "[redis]") {
    redis_config cfg;
    const auto p = peer("s3cret-Pass", "redis-0", "redis-1");
    layer l = make_layer(cfg, p);
    CHECK(l.summary == "Redis layer");
    CHECK(l.description == "Redis layer");
    REQUIRE(l.services.count("redis") == 1);
    const service& s = l.services.at("redis");
    CHECK(s.override == override_kind::replace);
    CHECK(s.startup == "enabled");
    CHECK(s.user == "redis");
    CHECK(s.group == "redis");
    const auto argv = parse_service_command(*s.command).base;
    CHECK(argv == words{"redis-server", "/var/lib/redis/redispebble-secrets.conf", "--bind", "0.0.0.0",
                        "--replica-announce-ip", "redis-1", "--port", "6379", "--replicaof", "redis-0", "6379"});
    CHECK_FALSE(contains(*s.command, "s3cret"));
    for (const auto& [k, v] : s.environment) CHECK_FALSE(contains(v, "s3cret"));
    CHECK(s.environment.at("REDISPEBBLE_SECRETS_DIGEST").rfind("pbkdf2-sha256:", 0) == 0);
}

TEST_CASE("The secrets digest changes when and only when a password does", "[redis]") {
    redis_config cfg;
    const auto a = secrets_digest(cfg, peer("one", "m", "h"));
    CHECK(a == secrets_digest(cfg, peer("one", "m", "h")));
    CHECK(a == secrets_digest(cfg, peer("one", "m2", "h2")));  // not secret: not in the file
    CHECK(a != secrets_digest(cfg, peer("two", "m", "h")));
    CHECK(make_layer(cfg, peer("one", "m", "h")) != make_layer(cfg, peer("two", "m", "h")));
}

TEST_CASE("The secrets file is redis.conf syntax that escapes every awkward byte", "[redis]") {
    redis_config cfg;
    auto f = secrets_file(cfg, peer("a \"b\" \\c\n\xc3\xa9", "m", "h"));
    REQUIRE(f);
    CHECK(f->path == "/var/lib/redis/redispebble-secrets.conf");
    CHECK(f->permissions == "600");
    CHECK(f->user == "redis");
    CHECK(f->group == "redis");
    CHECK(f->make_dirs);
    CHECK(contains(f->content.reveal(), "requirepass \"a \\\"b\\\" \\\\c\\x0a\\xc3\\xa9\"\n"));
    CHECK(contains(f->content.reveal(), "masterauth \"a \\\"b\\\" \\\\c\\x0a\\xc3\\xa9\"\n"));
    cfg.secrets = secret_mode::command_line;
    CHECK_FALSE(secrets_file(cfg, peer("pw", "m", "h")));
}

TEST_CASE("Command-line mode carries awkward passwords through Pebble's splitting", "[redis]") {
    redis_config cfg;
    cfg.secrets = secret_mode::command_line;
    for (std::string pw : {"p a\"s's$w\\ord#\xc3\xa9", "#start", "'", "tab\there", "a b c", "-x"}) {
        INFO(pw);
        const auto p = peer(pw, "m", "m");
        const auto argv = parse_service_command(redis_command(cfg, p)).base;
        words expected{"redis-server"};
        for (const auto& w : argv_of(redis_flags(cfg, p))) expected.push_back(w);
        CHECK(argv == expected);
        CHECK(argv[2] == pw);
    }
}

TEST_CASE("Passwords Pebble or Redis cannot carry are refused with a reason", "[redis]") {
    redis_config cfg;
    cfg.secrets = secret_mode::command_line;
    CHECK_THROWS_WITH(redis_command(cfg, peer("[", "m", "m")), Catch::Contains("bare [ or ]"));
    CHECK_THROWS_WITH(redis_command(cfg, peer("]", "m", "m")), Catch::Contains("admin-password"));
    CHECK_THROWS_WITH(redis_command(cfg, peer("--port", "m", "m")), Catch::Contains("option"));
    CHECK_THROWS_WITH(redis_command(cfg, peer("bad\xff", "m", "m")), Catch::Contains("UTF-8"));
    cfg.secrets = secret_mode::config_file;
    CHECK_NOTHROW(redis_command(cfg, peer("[", "m", "m")));  // fine in the secrets file
    CHECK_THROWS_WITH(redis_command(cfg, peer(std::string("nul\0x", 5), "m", "m")), Catch::Contains("NUL"));
}

TEST_CASE("The certificate plan maps resources to the names the flags use", "[redis]") {
    redis_config cfg;
    cfg.storage_path = "/data";
    auto plan = certificate_plan(cfg, {{"cert-file", secret("C")}, {"ca-cert-file", secret("A")}});
    REQUIRE(plan.files.size() == 2);
    CHECK(plan.files[0].origin == "cert-file");
    CHECK(plan.files[0].path == "/data/redis.crt");
    CHECK(plan.files[1].path == "/data/ca.crt");
    for (const auto& f : plan.files) {
        CHECK(f.permissions == "600");
        CHECK(f.user == "redis");
        CHECK(f.group == "redis");
        CHECK(f.make_dirs);
    }
    CHECK(plan.missing == words{"key-file"});
    CHECK_FALSE(plan.complete());
    auto full = certificate_plan(cfg, {{"cert-file", secret("C")}, {"key-file", secret("K")}, {"ca-cert-file", secret("A")}});
    CHECK(full.complete());
    CHECK(full.files[1].path == "/data/redis.key");
    // A certificate change changes the layer (so Redis restarts and reads it).
    const auto p = peer("pw", "m", "m");
    auto l1 = make_layer(cfg, p, full.files);
    full.files[0].sha256 = "different";
    CHECK(make_layer(cfg, p, full.files) != l1);
}
