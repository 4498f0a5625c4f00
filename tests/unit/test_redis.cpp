#include <redispebble/redis.hpp>

#include <redispebble/digest.hpp>
#include <redispebble/error.hpp>
#include <redispebble/shlex.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>

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
                                  "--replica-announce-ip", "redis-0", "--port", "6379", "--appendonly", "yes", "--dir", "/var/lib/redis"});
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
                "--tls-port", "6380", "--port", "0", "--tls-auth-clients", "optional", "--tls-cert-file", "/srv/redis/redis.crt", "--tls-key-file",
                "/srv/redis/redis.key", "--tls-ca-cert-file", "/srv/redis/ca.crt", "--replicaof", "redis-0", "6380",
                "--tls-replication", "yes", "--appendonly", "yes", "--dir", "/srv/redis/"});
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
                  "--port 6379 --replicaof m 6379 --appendonly yes --dir /var/lib/redis");
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
                        "--replica-announce-ip", "redis-1", "--port", "6379", "--replicaof", "redis-0", "6379",
                        "--appendonly", "yes", "--dir", "/var/lib/redis"});
    CHECK_FALSE(contains(*s.command, "s3cret"));
    for (const auto& [k, v] : s.environment) CHECK_FALSE(contains(v, "s3cret"));
    CHECK(s.environment.at("REDISPEBBLE_SECRETS_DIGEST").rfind("hmac-sha256:", 0) == 0);
}

TEST_CASE("The secrets digest changes when and only when a password does", "[redis]") {
    redis_config cfg;
    const secret key = new_secrets_key();
    const auto a = secrets_digest(cfg, peer("one", "m", "h"), key);
    CHECK(a == secrets_digest(cfg, peer("one", "m", "h"), key));
    CHECK(a == secrets_digest(cfg, peer("one", "m2", "h2"), key));  // not secret: not in the file
    CHECK(a != secrets_digest(cfg, peer("two", "m", "h"), key));
    CHECK(make_layer(cfg, peer("one", "m", "h"), {}, key) != make_layer(cfg, peer("two", "m", "h"), {}, key));
    CHECK(make_layer(cfg, peer("one", "m", "h"), {}, key) == make_layer(cfg, peer("one", "m", "h"), {}, key));
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

namespace {

// Redis's sdssplitargs for one double-quoted argument (config.c reads redis.conf lines with it).
std::string sds_unquote(const std::string& line, std::size_t& i) {
    REQUIRE(line[i] == '"');
    std::string out;
    auto hex = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    for (++i; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && std::isxdigit(static_cast<unsigned char>(line[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(line[i + 3]))) {
            out += static_cast<char>(hex(line[i + 2]) * 16 + hex(line[i + 3]));
            i += 3;
        } else if (c == '\\' && i + 1 < line.size()) {
            const char n = line[++i];
            out += n == 'n' ? '\n' : n == 'r' ? '\r' : n == 't' ? '\t' : n == 'b' ? '\b' : n == 'a' ? '\a' : n;
        } else if (c == '"') {
            ++i;
            return out;
        } else {
            out += c;
        }
    }
    FAIL("unterminated quote in " << line);
    return out;
}

std::map<std::string, std::string> read_redis_conf(const std::string& text) {
    std::map<std::string, std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = text.find('\n', pos);
        REQUIRE(end != std::string::npos);  // every line ends with a newline
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.front() == '#') continue;  // loadServerConfigFromString skips comments
        const std::size_t space = line.find(' ');
        REQUIRE(space != std::string::npos);
        std::size_t i = space + 1;
        out[line.substr(0, space)] = sds_unquote(line, i);
        CHECK(i == line.size());  // sdssplitargs wants a space or the end after the closing quote
    }
    return out;
}

} // namespace

TEST_CASE("Master flags with TLS and replica flags without TLS are exact", "[redis]") {
    redis_config cfg;
    cfg.enable_tls = true;
    cfg.storage_path = "/data";
    cfg.bind_address = "::";
    CHECK(argv_of(redis_flags(cfg, peer("pw", "redis-1", "redis-1"))) ==
          words{"--requirepass", "pw", "--bind", "::", "--masterauth", "pw", "--replica-announce-ip", "redis-1",
                "--tls-port", "6379", "--port", "0", "--tls-auth-clients", "optional", "--tls-cert-file", "/data/redis.crt", "--tls-key-file",
                "/data/redis.key", "--tls-ca-cert-file", "/data/ca.crt", "--appendonly", "yes", "--dir", "/data"});
    cfg.enable_tls = false;
    cfg.port = 7000;
    CHECK(argv_of(redis_flags(cfg, peer("pw", "10.0.0.1", "10.0.0.2"))) ==
          words{"--requirepass", "pw", "--bind", "::", "--masterauth", "pw", "--replica-announce-ip", "10.0.0.2",
                "--port", "7000", "--replicaof", "10.0.0.1", "7000", "--appendonly", "yes", "--dir", "/data"});
    // Another storage path really is another path: nothing is a fixed string.
    cfg.enable_tls = true;
    cfg.storage_path = "/srv/other dir";
    const auto w = argv_of(redis_flags(cfg, peer("pw", "m", "m")));
    CHECK(std::find(w.begin(), w.end(), "/srv/other dir/redis.crt") != w.end());
    CHECK(std::find(w.begin(), w.end(), "{storage}/redis.crt") == w.end());
}

TEST_CASE("Flags refuse invalid configuration and peer data naming the key", "[redis]") {
    redis_config cfg;
    auto key_of = [&](const peer_data& p) {
        try {
            (void)redis_flags(cfg, p);
        } catch (const input_error& e) {
            return e.key();
        }
        return std::string("no error");
    };
    CHECK(key_of(peer("pw", "m", "--port")) == "hostname");
    CHECK(key_of(peer("pw", "a b", "h")) == "current-master");
    CHECK(key_of(peer("bad\xff", "m", "m")) == "admin-password");
    cfg.bind_address = "--requirepass";
    CHECK(key_of(peer("pw", "m", "m")) == "bind-address");
}

TEST_CASE("The secrets file is exactly the key comment and the two directives and Redis's parser reads back the bytes", "[redis]") {
    redis_config cfg;
    cfg.storage_path = "/data/";
    cfg.user = "app";
    cfg.group = "grp";
    const secret key(std::string(64, 'a'));
    auto f = secrets_file(cfg, peer("pw", "m", "h"), key);
    REQUIRE(f);
    CHECK(f->content.reveal() == "# redispebble-key " + std::string(64, 'a') + "\nrequirepass \"pw\"\nmasterauth \"pw\"\n");
    CHECK(f->path == "/data/redispebble-secrets.conf");
    CHECK(f->path == secrets_file_path(cfg));
    CHECK(f->origin == "secrets");
    CHECK(f->user == "app");
    CHECK(f->group == "grp");
    CHECK(f->sha256 == sha256_hex(f->content.reveal()));

    std::string every_ascii;
    for (int c = 1; c < 0x80; ++c) every_ascii += static_cast<char>(c);
    for (const std::string& pw : {every_ascii, std::string("p a\"s's$w\\ord#\xc3\xa9"), std::string("\\x41\\\""),
                                 std::string("\xf0\x9f\x98\x80 \xe2\x82\xac")}) {
        auto s = secrets_file(cfg, peer(pw, "m", "h"));
        REQUIRE(s);
        const std::string& text = s->content.reveal();
        // Plain printable ASCII, one directive a line.
        CHECK(std::all_of(text.begin(), text.end(), [](char c) { return c == '\n' || (c >= 0x20 && c < 0x7f); }));
        const auto conf = read_redis_conf(text);
        CHECK(conf.size() == 2);
        CHECK(conf.at("requirepass") == pw);
        CHECK(conf.at("masterauth") == pw);
    }
}

TEST_CASE("The secrets digest is an HMAC keyed by the key in the secrets file", "[redis][secrets]") {
    redis_config cfg;
    const auto p = peer("one", "m", "h");
    const secret key = new_secrets_key();
    const std::string d = secrets_digest(cfg, p, key);
    const auto file = secrets_file(cfg, p, key);
    REQUIRE(file);
    const std::string& content = file->content.reveal();
    // The key is the file's first line, a comment redis-server skips; the passwords follow.
    CHECK(content.rfind(std::string(secrets_key_prefix) + key.reveal() + "\n", 0) == 0);
    REQUIRE(parse_secrets_key(content));
    CHECK(*parse_secrets_key(content) == key);
    const std::string password_lines = content.substr(secrets_key_prefix.size() + 65);
    CHECK(password_lines == "requirepass \"one\"\nmasterauth \"one\"\n");
    CHECK(d == "hmac-sha256:" + hmac_sha256_hex(key.reveal(), password_lines));
    // Another unit (another key), same password: another digest. Same key elsewhere: same digest.
    CHECK(secrets_digest(cfg, p, new_secrets_key()) != d);
    redis_config other = cfg;
    other.port = 7000;
    other.enable_tls = true;
    CHECK(secrets_digest(other, p, key) == d);
    cfg.secrets = secret_mode::command_line;
    CHECK(secrets_digest(cfg, p, key).empty());
    CHECK_FALSE(secrets_file(cfg, p, key));
}

TEST_CASE("A secrets key is read back only from a well-formed first line", "[redis][secrets]") {
    const secret key = new_secrets_key();
    CHECK(key.reveal().size() == 64);
    CHECK_FALSE(new_secrets_key() == key);
    const std::string line = std::string(secrets_key_prefix) + key.reveal();
    CHECK(parse_secrets_key(line + "\nrequirepass \"x\"\n"));
    CHECK_FALSE(parse_secrets_key(""));
    CHECK_FALSE(parse_secrets_key(line));                                   // no newline
    CHECK_FALSE(parse_secrets_key("requirepass \"x\"\n"));                 // the old format
    CHECK_FALSE(parse_secrets_key(line.substr(0, line.size() - 1) + "\n")); // 63 digits
    CHECK_FALSE(parse_secrets_key(line + "0\n"));                           // 65 digits
    std::string upper = line;
    upper.back() = 'A';
    CHECK_FALSE(parse_secrets_key(upper + "\n"));
    CHECK_THROWS_AS(secrets_file(redis_config{}, peer("one", "m", "h"), secret("short")), std::invalid_argument);
    // A bad key is named first, whatever else is wrong (here: no current-master in the peer data).
    CHECK_THROWS_AS(secrets_file(redis_config{}, peer("one", "", "h"), secret("short")), std::invalid_argument);
    CHECK_THROWS_AS(secrets_digest(redis_config{}, peer("one", "", "h"), secret("short")), std::invalid_argument);
}

TEST_CASE("No digest in the plan is an unsalted or fixed-salt hash of the password", "[redis][secrets]") {
    const std::string pw = "correct horse";
    redis_config cfg;
    const auto p = peer(pw, "m", "h");
    // What a guesser can compute without the key: plain and fixed-salt hashes of the password and
    // of every file content it could be in (the old format included).
    const std::string lines = "requirepass \"" + pw + "\"\nmasterauth \"" + pw + "\"\n";
    std::vector<std::string> guessable{sha256_hex(pw), sha256_hex(lines), sha256_hex("requirepass \"" + pw + "\"\n"),
                                       hmac_sha256_hex("", lines), hmac_sha256_hex("", pw),
                                       pbkdf2_sha256_hex(lines, "redispebble:/var/lib/redis:redis", 10000),
                                       pbkdf2_sha256_hex(pw, "redispebble:/var/lib/redis:redis", 10000)};
    for (const std::string salt : {"redis", "/var/lib/redis", "redispebble", "redispebble:/var/lib/redis:redis"}) {
        guessable.push_back(hmac_sha256_hex(salt, lines));
        guessable.push_back(hmac_sha256_hex(salt, pw));
        guessable.push_back(sha256_hex(salt + lines));
        guessable.push_back(sha256_hex(salt + pw));
    }
    const std::string yaml = to_yaml(make_layer(cfg, p, {}, new_secrets_key()));
    const std::string yaml2 = to_yaml(make_layer(cfg, p));
    for (const auto& h : guessable) {
        // Any 8 hex digits of one would already narrow guesses: none of its prefixes appears.
        CHECK_FALSE(contains(yaml, h.substr(0, 8)));
        CHECK_FALSE(contains(yaml2, h.substr(0, 8)));
    }
    CHECK_FALSE(contains(yaml, pw));
}

TEST_CASE("No secret anywhere in the config-file layer command or description", "[redis]") {
    redis_config cfg;
    cfg.enable_tls = true;
    for (const std::string& pw : {std::string("s3cret-Pass"), std::string("p a\"s's$w\\ord#\xc3\xa9"), std::string("[")}) {
        INFO(pw);
        const auto p = peer(pw, "redis-0", "redis-1");
        const auto cert = certificate_plan(cfg, {{"cert-file", secret("C")}, {"key-file", secret("K")}, {"ca-cert-file", secret("A")}});
        const layer l = make_layer(cfg, p, cert.files);
        const std::string yaml = to_yaml(l);
        CHECK_FALSE(contains(yaml, pw));
        CHECK_FALSE(contains(yaml, shlex_quote(pw)));
        const std::string command = redis_command(cfg, p);
        CHECK_FALSE(contains(command, pw));
        for (const auto& w : parse_service_command(command).base) CHECK_FALSE(contains(w, pw));
        const std::string text = describe(redis_flags(cfg, p));
        CHECK_FALSE(contains(text, pw));
        CHECK(contains(text, "--requirepass <redacted>"));
        CHECK(contains(text, "--masterauth <redacted>"));
        CHECK(text.find('\n') == std::string::npos);
        const service& s = l.services.at("redis");
        CHECK(s.environment.count("REDISPEBBLE_SECRETS_DIGEST") == 1);
        CHECK(s.environment.count("REDISPEBBLE_FILES_DIGEST") == 1);
    }
}

TEST_CASE("The config-file command is redis-server then the secrets file then the other flags", "[redis]") {
    redis_config cfg;
    cfg.enable_tls = true;
    cfg.storage_path = "/srv/redis data";
    cfg.port = 6380;
    const auto p = peer("pw", "10.0.0.1", "10.0.0.2");
    const std::string command = redis_command(cfg, p);
    CHECK(command ==
          "redis-server '/srv/redis data/redispebble-secrets.conf' --bind 0.0.0.0 --replica-announce-ip 10.0.0.2 "
          "--tls-port 6380 --port 0 --tls-auth-clients optional --tls-cert-file '/srv/redis data/redis.crt' --tls-key-file "
          "'/srv/redis data/redis.key' --tls-ca-cert-file '/srv/redis data/ca.crt' --replicaof 10.0.0.1 6380 "
          "--tls-replication yes --appendonly yes --dir '/srv/redis data'");
    const layer l = make_layer(cfg, p);
    const service& s = l.services.at("redis");
    CHECK(s.command == command);
    CHECK(s.summary == "Redis");
    CHECK(s.working_dir == "/srv/redis data");
    CHECK(s.environment.count("REDISPEBBLE_FILES_DIGEST") == 0);  // no certificate files given
    CHECK(l.services.size() == 1);
    cfg.service_name = "cache";
    CHECK(make_layer(cfg, p).services.count("cache") == 1);
}

TEST_CASE("Command-line mode puts every flag in argv and carries more awkward passwords", "[redis]") {
    redis_config cfg;
    cfg.secrets = secret_mode::command_line;
    for (std::string pw : {"[x]", "]x", "x[", "$(touch /tmp/x)", "`id`", "a\nb", "\"", "\\", "#", "' '", "-", "- -",
                           "\xf0\x9f\x98\x80", "x --port 1"}) {
        INFO(pw);
        const auto p = peer(pw, "m", "h");
        const auto cmd = parse_service_command(redis_command(cfg, p));
        words expected{"redis-server"};
        for (const auto& w : argv_of(redis_flags(cfg, p))) expected.push_back(w);
        CHECK(cmd.base == expected);
        CHECK(cmd.extra.empty());
    }
    const layer l = make_layer(cfg, peer("pw", "m", "h"));
    CHECK(l.services.at("redis").environment.count("REDISPEBBLE_SECRETS_DIGEST") == 0);
    CHECK(shlex_split(*l.services.at("redis").command)[1] == "--requirepass");
}

TEST_CASE("The files digest follows the certificate paths and contents", "[redis]") {
    redis_config cfg;
    const auto p = peer("pw", "m", "m");
    auto plan = certificate_plan(cfg, {{"cert-file", secret("C")}, {"key-file", secret("K")}, {"ca-cert-file", secret("A")}});
    const auto digest = [&](const std::vector<file_spec>& files) {
        return make_layer(cfg, p, files).services.at("redis").environment.at("REDISPEBBLE_FILES_DIGEST");
    };
    const std::string d = digest(plan.files);
    CHECK(d == digest(certificate_plan(cfg, {{"cert-file", secret("C")}, {"key-file", secret("K")}, {"ca-cert-file", secret("A")}}).files));
    CHECK(d != digest(certificate_plan(cfg, {{"cert-file", secret("C2")}, {"key-file", secret("K")}, {"ca-cert-file", secret("A")}}).files));
    CHECK(d.find(plan.files[1].sha256) == std::string::npos);  // one digest over the list, not the key's own
    CHECK(plan.files[1].sha256 == sha256_hex("K"));
    CHECK(plan.files[1].origin == "key-file");
    CHECK(certificate_plan(cfg, {}).missing == words{"cert-file", "key-file", "ca-cert-file"});
}
