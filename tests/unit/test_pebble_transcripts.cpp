// Every recorded Pebble exchange replayed against the real client: the parsed value or error, and
// the request the client sent compared with the recorded one.
// Over 600 lines on purpose: the last tests check that every transcript is named in this very file
// (it reads its own source), so the replays of all API areas stay together in one file.
#include <redispebble/pebble/client.hpp>

#include <redispebble/pebble/detail/envelope.hpp>
#include <redispebble/pebble/detail/multipart.hpp>

#include "support/replay_server.hpp"
#include "support/run_command.hpp"
#include "support/transcripts.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <set>

namespace pb = redispebble::pebble;
namespace rt = redispebble::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string url_decode(std::string_view s) {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            r += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            r += s[i] == '+' ? ' ' : s[i];
        }
    }
    return r;
}

std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

std::multiset<std::pair<std::string, std::string>> query_of(const std::string& target) {
    std::multiset<std::pair<std::string, std::string>> q;
    auto p = target.find('?');
    if (p == std::string::npos) return q;
    std::string_view rest(target);
    rest.remove_prefix(p + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto kv = rest.substr(0, amp);
        auto eq = kv.find('=');
        q.emplace(url_decode(kv.substr(0, eq)), eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1)));
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    }
    return q;
}

struct part {
    std::string name, filename, content_type, body;
};

std::vector<part> parts_of(const std::string& body, const std::string& boundary) {
    std::vector<part> parts;
    pb::detail::multipart_parser p(boundary);
    p.on_part = [&](const pb::detail::part_header& h) { parts.push_back({h.name, h.filename, h.content_type, {}}); };
    p.on_data = [&](std::span<const char> s) { parts.back().body.append(s.data(), s.size()); };
    REQUIRE(p.feed(body));
    REQUIRE(p.done());
    return parts;
}

std::string mime_of(const std::string& ct) { return ct.substr(0, ct.find(';')); }

/// The request the client sent matches the recorded one where it matters.
void check_request(const std::string& recorded_raw, const std::string& sent_raw) {
    auto rec = rt::parse_http(recorded_raw);
    auto sent = rt::parse_http(sent_raw);
    INFO("recorded: " << rec.start_line << "\nsent: " << sent.start_line);
    CHECK(sent.method() == rec.method());
    CHECK(path_of(sent.target()) == path_of(rec.target()));
    CHECK(query_of(sent.target()) == query_of(rec.target()));
    CHECK(sent.header("host") == rec.header("host"));
    CHECK(sent.header("accept") == rec.header("accept"));
    auto rct = rec.header("content-type");
    auto sct = sent.header("content-type");
    if (rct.rfind("multipart/", 0) == 0) {
        CHECK(mime_of(sct) == mime_of(rct));
        auto sb = pb::detail::multipart_boundary(sct);
        CHECK(sb.size() >= 32);
        auto rparts = parts_of(rec.body, pb::detail::multipart_boundary(rct));
        auto sparts = parts_of(sent.body, sb);
        REQUIRE(sparts.size() == rparts.size());
        for (std::size_t i = 0; i < rparts.size(); ++i) {
            CHECK(sparts[i].name == rparts[i].name);
            CHECK(sparts[i].filename == rparts[i].filename);
            CHECK(sparts[i].content_type == rparts[i].content_type);
            if (rparts[i].content_type == "application/json")
                CHECK(json::parse(sparts[i].body) == json::parse(rparts[i].body));
            else
                CHECK(sparts[i].body == rparts[i].body);
        }
    } else {
        CHECK(sct == rct);
        if (rec.body.empty()) CHECK(sent.body.empty());
        else CHECK(json::parse(sent.body) == json::parse(rec.body));
    }
}

pb::client_options options_for(const rt::replay_server& s, std::chrono::milliseconds request_timeout = 2s) {
    pb::client_options o;
    o.socket_path = s.socket_path();
    o.request_timeout = request_timeout;
    o.connect_timeout = 1s;
    return o;
}

// Options for a client of `s` that long-polls a change for `slice` at a time (30 s per request).
pb::client_options wait_options(const rt::replay_server& s, std::chrono::milliseconds slice) {
    auto o = options_for(s, 30s);
    o.wait_slice = slice;
    return o;
}

// The recorded responses of the single-exchange transcripts `names`, to be served in order.
std::vector<rt::replay_step> responses_of(std::initializer_list<const char*> names) {
    std::vector<rt::replay_step> steps;
    for (const char* name : names) steps.push_back({rt::load_single(name).response});
    return steps;
}

/// Every request of the transcript was sent as recorded, on the expected number of connections.
void check_requests(const rt::replay_server& s, const std::string& name) {
    auto ex = rt::load_transcript(name);
    auto sent = s.requests();
    REQUIRE(sent.size() == ex.size());
    for (std::size_t i = 0; i < ex.size(); ++i) check_request(ex[i].request, sent[i]);
    CHECK(s.connections() == 1);
}

json::object recorded_json_body(const std::string& name, std::size_t i = 0) {
    return json::parse(rt::parse_http(rt::load_transcript(name)[i].request).body).as_object();
}

template <class F>
void expect_api_error(F&& call, pb::error_code want, int status, const std::string& message, const std::string& kind = "") {
    try {
        call();
        FAIL("no exception");
    } catch (const pb::api_exception& e) {
        CHECK(e.code() == want);
        CHECK(e.get_diagnostics().status_code == status);
        CHECK(e.get_diagnostics().message == message);
        CHECK(e.get_diagnostics().kind == kind);
    }
}

struct replay {
    explicit replay(const std::string& name, std::chrono::milliseconds request_timeout = 2s)
        : server(rt::replay_server::steps_of(name)), client(options_for(server, request_timeout)), name_(name) {}
    void check() { check_requests(server, name_); }
    rt::replay_server server;
    pb::client client;
    std::string name_;
};

pb::add_layer_options layer_from(const json::object& b) {
    pb::add_layer_options o;
    o.label = std::string(b.at("label").as_string());
    o.layer_yaml = std::string(b.at("layer").as_string());
    o.combine = b.at("combine").as_bool();
    return o;
}

/// The files of a recorded multipart push, as push_file values with the same metadata and bytes.
pb::push_options push_from(const std::string& name) {
    auto rec = rt::parse_http(rt::load_single(name).request);
    auto parts = parts_of(rec.body, pb::detail::multipart_boundary(rec.header("content-type")));
    auto meta = json::parse(parts.at(0).body).as_object();
    pb::push_options o;
    std::size_t i = 1;
    for (auto& v : meta.at("files").as_array()) {
        auto& f = v.as_object();
        auto pf = pb::push_file::from_string(std::string(f.at("path").as_string()), parts.at(i++).body);
        if (auto* m = f.if_contains("make-dirs")) pf.make_dirs = m->as_bool();
        if (auto* m = f.if_contains("permissions")) pf.permissions = std::string(m->as_string());
        if (auto* m = f.if_contains("user")) pf.user = std::string(m->as_string());
        if (auto* m = f.if_contains("group")) pf.group = std::string(m->as_string());
        o.files.push_back(std::move(pf));
    }
    return o;
}

} // namespace

TEST_CASE("system info is parsed from transcript 01", "[pebble][transcripts]") {
    replay r("01-system-info.http");
    auto info = r.client.system_info();
    CHECK(info.version == "v1.26.0");
    CHECK(info.boot_id == "9a2114fe-4dce-4229-b567-59ceb10f557b");
    r.check();
}

TEST_CASE("health is true without checks and with passing checks", "[pebble][transcripts]") {
    for (auto name : {"02-health-no-checks.http", "61-health-healthy.http"}) {
        replay r(name);
        CHECK(r.client.health({}));
        r.check();
    }
}

TEST_CASE("an unhealthy 502 sync answer is false and not an error", "[pebble][transcripts]") {
    replay r("68-health-unhealthy-502.http");
    pb::error_code ec;
    CHECK_FALSE(r.client.health({}, ec));
    CHECK_FALSE(ec);
    r.check();
}

TEST_CASE("the plan is returned as Pebble's YAML", "[pebble][transcripts]") {
    {
        replay r("03-plan-empty.http");
        CHECK(r.client.plan() == "{}\n");
        r.check();
    }
    {
        replay r("07-plan-after-combine.http");
        auto yaml = r.client.plan();
        CHECK(yaml.find("services:\n    web:\n") == 0);
        CHECK(yaml.find("override: replace") != std::string::npos);
        r.check();
    }
    {
        replay r("13-plan-redis-layer.http");
        auto yaml = r.client.plan();
        CHECK(yaml.find("redis-alive:") != std::string::npos);
        CHECK(yaml.find("threshold: 3") != std::string::npos);
        r.check();
    }
}

TEST_CASE("a 400 answer to the plan carries Pebble's message", "[pebble][transcripts]") {
    rt::replay_server s(rt::replay_server::steps_of("04-plan-no-format-400.http"));
    pb::client c(options_for(s));
    expect_api_error([&] { c.plan(); }, pb::error::api_error, 400, "invalid format \"\"");
}

TEST_CASE("layers are added with the recorded request shape", "[pebble][transcripts]") {
    for (auto name : {"05-layers-add-new-label.http", "06-layers-add-combine-existing-label.http",
                      "12-layers-add-redis-checks.http"}) {
        INFO(name);
        replay r(name);
        r.client.add_layer(layer_from(recorded_json_body(name)));
        r.check();
    }
}

TEST_CASE("refused layers report Pebble's 400 message", "[pebble][transcripts]") {
    struct want {
        const char* name;
        const char* message;
    };
    for (auto w : {want{"08-layers-add-existing-label-400.http", "layer \"base\" already exists"},
                   want{"10-layers-add-missing-override-400.http", "layer \"nooverride\" must define \"override\" for service \"x\""},
                   want{"11-layers-add-reserved-label-400.http",
                        "cannot parse layer YAML: cannot use reserved label prefix \"pebble-\""}}) {
        INFO(w.name);
        replay r(w.name);
        expect_api_error([&] { r.client.add_layer(layer_from(recorded_json_body(w.name))); }, pb::error::api_error, 400, w.message);
        r.check();
    }
    replay r("09-layers-add-bad-yaml-400.http");
    pb::error_code ec;
    pb::diagnostics d;
    r.client.add_layer(layer_from(recorded_json_body("09-layers-add-bad-yaml-400.http")), ec, &d);
    CHECK(ec == pb::error::api_error);
    CHECK(ec == pb::condition::api);
    CHECK(d.status_code == 400);
    CHECK(d.message.find("cannot parse layer YAML") == 0);
    r.check();
}

TEST_CASE("services are listed sorted with their states", "[pebble][transcripts]") {
    {
        replay r("15-services-list.http");
        const auto s = r.client.list_services({});
        std::vector<std::string> listed;  // "name startup current", in the order Pebble sorted them
        for (const auto& x : s) listed.push_back(x.name + " " + x.startup + " " + x.current);
        CHECK(listed == std::vector<std::string>{"failer disabled backoff", "idle disabled inactive", "sleeper enabled active"});
        REQUIRE(s.size() == 3);
        CHECK(s[2].current_since == "2026-11-25T02:40:33.674178347Z");
        r.check();
    }
    {
        replay r("16-services-names.http");
        auto s = r.client.list_services({{"sleeper", "idle"}});
        REQUIRE(s.size() == 2);
        CHECK(s[0].name == "idle");
        r.check();
    }
}

TEST_CASE("service actions complete with the change id", "[pebble][transcripts]") {
    {
        replay r("17-services-autostart.http");
        CHECK(r.client.autostart() == "1");
        r.check();
    }
    {
        replay r("18-services-start.http");
        CHECK(r.client.start({{"idle"}}) == "2");
        r.check();
    }
    {
        replay r("19-services-stop.http");
        CHECK_FALSE(r.client.stop({{"idle"}}).empty());
        r.check();
    }
    {
        replay r("20-services-restart.http");
        CHECK(r.client.restart({{"sleeper"}}) == "4");
        r.check();
    }
    for (auto name : {"21-services-replan.http", "22-services-replan-nothing.http"}) {
        replay r(name);
        auto env = json::parse(rt::parse_http(rt::load_single(name).response).body).as_object();
        CHECK(r.client.replan() == env.at("change").as_string());
        r.check();
    }
}

TEST_CASE("starting an unknown service is a 400 api error", "[pebble][transcripts]") {
    replay r("23-services-start-unknown-400.http");
    expect_api_error([&] { r.client.start({{"nope"}}); }, pb::error::api_error, 400,
                     "cannot start services: service \"nope\" does not exist");
    r.check();
}

TEST_CASE("changes are parsed with their tasks or without any", "[pebble][transcripts]") {
    {
        replay r("30-change-restart-done.http");
        auto ch = r.client.change("4");
        CHECK(ch.id == "4");
        CHECK(ch.kind == "restart");
        CHECK(ch.status == "Done");
        CHECK(ch.ready);
        REQUIRE(ch.tasks.size() == 2);
        CHECK(ch.tasks[0].kind == "stop");
        CHECK(ch.tasks[1].progress.done == 1);
        CHECK(ch.tasks[1].progress.total == 1);
        CHECK_FALSE(ch.failed());
        r.check();
    }
    {
        replay r("33-change-replan-no-tasks.http");
        auto ch = r.client.change("1");
        CHECK(ch.summary == "Replan - no services");
        CHECK(ch.tasks.empty());
        r.check();
    }
    {
        replay r("35-change-start-failed.http");
        auto ch = r.client.change("6");
        CHECK(ch.status == "Error");
        CHECK(ch.failed());
        REQUIRE(ch.tasks.size() == 1);
        REQUIRE(ch.tasks[0].log.size() == 2);
        CHECK(ch.tasks[0].log[0].find("failer starting") != std::string::npos);
        r.check();
    }
    {
        replay r("37-change-unknown-404.http");
        expect_api_error([&] { r.client.change("999"); }, pb::error::not_found, 404, "cannot find change with id \"999\"");
        r.check();
    }
    {
        replay r("39-changes-select-all.http");
        auto all = r.client.changes({"all", ""});
        REQUIRE(all.size() == 2);
        CHECK(all[0].tasks.size() == 1);
        CHECK(all[1].tasks.empty());
        r.check();
    }
}

TEST_CASE("waiting on a change returns it once ready even when it failed", "[pebble][transcripts]") {
    for (auto name : {"31-change-wait-restart-done.http", "32-change-wait-replan-no-tasks.http",
                      "58-exec-change-done.http", "59-exec-change-exit-code-7.http"}) {
        INFO(name);
        replay r(name, 30s);  // the recorded ?timeout=10s is the default slice under a 30 s request timeout
        auto id = path_of(rt::parse_http(rt::load_single(name).request).target()).substr(std::string("/v1/changes/").size());
        id = id.substr(0, id.find('/'));
        auto ch = r.client.wait_change(id, {});
        CHECK(ch.id == id);
        CHECK(ch.status == "Done");
        CHECK(ch.ready);
        r.check();
    }
    {
        replay r("59-exec-change-exit-code-7.http", 30s);
        auto ch = r.client.wait_change("2", {});
        REQUIRE(ch.tasks.size() == 1);
        CHECK(json::parse(ch.tasks[0].data) == json::parse(R"({"exit-code":7})"));
    }
    {
        replay r("34-change-wait-start-failed.http", 30s);
        auto ch = r.client.wait_change("6", {});
        CHECK(ch.status == "Error");
        CHECK(ch.err.find("exited quickly with code 3") != std::string::npos);
        r.check();
    }
}

TEST_CASE("fail_on_error turns a failed change into change_failed with the task log", "[pebble][transcripts]") {
    replay r("34-change-wait-start-failed.http", 30s);
    pb::error_code ec;
    pb::diagnostics d;
    auto ch = r.client.wait_change("6", {0ms, true}, ec, &d);
    CHECK(ec == pb::error::change_failed);
    CHECK(ch.status == "Error");
    CHECK(d.message.find("cannot perform the following tasks") == 0);
    CHECK(d.message.find("failer starting") != std::string::npos);
    r.check();
}

TEST_CASE("a 504 from wait is waited again until the overall deadline", "[pebble][transcripts]") {
    rt::replay_server s(rt::replay_server::steps_of("36-change-wait-timeout-504.http"), true);
    pb::client c(wait_options(s, 100ms));
    pb::error_code ec;
    c.wait_change("2", {350ms, false}, ec);  // the server answers 504 forever: only the wait's timeout ends it
    CHECK(ec == pb::error::timeout);
    CHECK(ec == pb::condition::timeout);
    auto reqs = s.requests();
    REQUIRE(reqs.size() >= 2);
    check_request(rt::load_single("36-change-wait-timeout-504.http").request, reqs[0]);
    for (auto& q : reqs) CHECK(rt::parse_http(q).target().find("/v1/changes/2/wait?timeout=") == 0);
}

TEST_CASE("a 504 then a ready change completes the wait", "[pebble][transcripts]") {
    rt::replay_server s(responses_of({"36-change-wait-timeout-504.http", "31-change-wait-restart-done.http"}));
    pb::client c(wait_options(s, 100ms));
    auto ch = c.wait_change("2", {});
    CHECK(ch.status == "Done");
    CHECK(s.requests().size() == 2);
}

TEST_CASE("a 404 from wait falls back to polling the change", "[pebble][transcripts]") {
    rt::replay_server s(responses_of({"38-change-wait-unknown-404.http", "37-change-unknown-404.http"}));
    pb::client c(wait_options(s, 1s));
    expect_api_error([&] { c.wait_change("999", {}); }, pb::error::not_found, 404, "cannot find change with id \"999\"");
    auto reqs = s.requests();
    REQUIRE(reqs.size() == 2);
    check_request(rt::load_single("38-change-wait-unknown-404.http").request, reqs[0]);
    check_request(rt::load_single("37-change-unknown-404.http").request, reqs[1]);
}

TEST_CASE("polling returns the change once it is ready", "[pebble][transcripts]") {
    auto doing = rt::load_single("30-change-restart-done.http").response;
    auto pos = doing.find("\"ready\":true");
    REQUIRE(pos != std::string::npos);
    doing.replace(pos, 12, "\"ready\":null");  // same length keeps Content-Length right
    rt::replay_server s({{rt::load_single("70-error-unknown-endpoint-404.http").response},
                         {doing},
                         {rt::load_single("30-change-restart-done.http").response}});
    auto o = options_for(s, 30s);
    o.poll_interval = 10ms;
    pb::client c(o);
    auto ch = c.wait_change("4", {});
    CHECK(ch.ready);
    CHECK(s.requests().size() == 3);
}

TEST_CASE("pushes send the recorded multipart parts and report per-file results", "[pebble][transcripts]") {
    for (auto name : {"40-files-push-one.http", "41-files-push-two.http", "43-files-push-make-dirs-owner.http"}) {
        INFO(name);
        replay r(name);
        auto res = r.client.push(push_from(name));
        CHECK_FALSE(res.empty());
        for (auto& f : res) CHECK(f.ok());
        r.check();
    }
    // 42 pushed permissions "999": this client refuses that before any I/O, so the replay sends the
    // third file without permissions and Pebble's recorded per-file errors are parsed as they came.
    const std::string name = "42-files-push-per-file-error.http";
    replay r(name);
    auto opts = push_from(name);
    REQUIRE(opts.files.at(2).permissions == "999");
    pb::error_code ec;
    pb::diagnostics d;
    r.client.push(opts, ec, &d);
    CHECK(ec == pb::error::invalid_option);
    CHECK(d.message == "push_options.files[2].permissions: must be 3 or 4 octal digits");
    CHECK(r.server.connections() == 0);
    opts = push_from(name);
    opts.files.at(2).permissions.clear();
    auto res = r.client.push(opts);
    REQUIRE(res.size() == 3);
    CHECK(res[0].ok());
    CHECK(res[1].ec == pb::error::not_found);
    CHECK(res[1].diag.kind == "not-found");
    CHECK(res[2].ec == pb::error::generic_file_error);
    CHECK(res[2].diag.message == "permissions must be a 3-digit octal string, got \"999\"");
    auto recorded = rt::load_single(name).request;
    const std::string perm = R"(,"permissions":"999")";
    recorded.erase(recorded.find(perm), perm.size());
    REQUIRE(r.server.requests().size() == 1);
    check_request(recorded, r.server.requests()[0]);
}

TEST_CASE("a push refused as a whole is an api error", "[pebble][transcripts]") {
    replay r("52-files-push-short-boundary-400.http");
    expect_api_error([&] { r.client.push(push_from("52-files-push-short-boundary-400.http")); }, pb::error::api_error, 400,
                     "invalid boundary \"short-boundary\"");
    r.check();  // same parts, but our boundary is long enough
}

TEST_CASE("pulls stream each file to its sink and report missing files", "[pebble][transcripts]") {
    {
        replay r("44-files-read-one.http");
        std::string got;
        pb::pull_file f{"/tmp/pbt-files/hello.txt", "", [&](std::span<const char> s) { got.append(s.data(), s.size()); }};
        auto res = r.client.pull({{f}});
        REQUIRE(res.size() == 1);
        CHECK(res[0].ok());
        CHECK(got == "hello\n");
        r.check();
    }
    {
        replay r("45-files-read-two.http");
        std::string a, b;
        auto res = r.client.pull({{{"/tmp/pbt-files/a.txt", "", [&](std::span<const char> s) { a.append(s.data(), s.size()); }},
                                   {"/tmp/pbt-files/b.txt", "", [&](std::span<const char> s) { b.append(s.data(), s.size()); }}}});
        REQUIRE(res.size() == 2);
        CHECK(res[0].ok());
        CHECK(res[1].ok());
        CHECK(a == "A\n");
        CHECK(b == "B\n");
        r.check();
    }
    {
        replay r("46-files-read-missing.http");
        rt::temp_dir dir;
        auto res = r.client.pull({{{"/tmp/pbt-files/missing.txt", dir.path + "/missing.txt", {}}}});
        REQUIRE(res.size() == 1);
        CHECK(res[0].ec == pb::error::not_found);
        CHECK(res[0].diag.message == "stat /tmp/pbt-files/missing.txt: no such file or directory");
        r.check();
    }
}

TEST_CASE("a pull answered with a 400 envelope is an api error", "[pebble][transcripts]") {
    rt::replay_server s(rt::replay_server::steps_of("47-files-read-no-accept-400.http"));
    pb::client c(options_for(s));
    expect_api_error([&] { c.pull({{{"/tmp/pbt-files/hello.txt", "", [](std::span<const char>) {}}}}); }, pb::error::api_error, 400,
                     "must accept multipart/form-data");
}

TEST_CASE("files are listed and a missing directory is not found", "[pebble][transcripts]") {
    {
        replay r("48-files-list.http");
        auto files = r.client.list_files({"/tmp/pbt-files"});  // partial aggregates compile warning-free
        REQUIRE(files.size() == 5);
        CHECK(files[0].name == "a.txt");
        CHECK(files[0].size == 2);
        CHECK(files[4].type == "directory");
        CHECK_FALSE(files[4].size);
        CHECK(files[4].user == "nobody");
        CHECK(files[4].user_id == 65534u);
        r.check();
    }
    {
        replay r("49-files-list-missing-404.http");
        pb::error_code ec;
        pb::diagnostics d;
        r.client.list_files({"/tmp/pbt-nodir", "", false}, ec, &d);
        CHECK(ec == pb::error::not_found);
        CHECK(d.kind == "not-found");
        r.check();
    }
}

TEST_CASE("directories are made and paths removed with the recorded JSON", "[pebble][transcripts]") {
    {
        replay r("50-files-make-dirs.http");
        pb::make_dir_options m;
        m.path = "/tmp/pbt-files/made/deep";
        m.make_parents = true;
        m.permissions = "700";
        r.client.make_dir(m);
        r.check();
    }
    {
        replay r("51-files-remove.http");
        auto res = r.client.remove_paths({{"/tmp/pbt-files/made", true}});
        REQUIRE(res.size() == 1);
        CHECK(res[0].ok());
        r.check();
    }
}

TEST_CASE("checks are listed started and stopped", "[pebble][transcripts]") {
    {
        replay r("60-checks-list-up.http");
        auto c = r.client.checks({});
        REQUIRE(c.size() == 2);
        CHECK(c[0].name == "redis-alive");
        CHECK(c[0].status == "up");
        CHECK(c[0].successes == 4);
        CHECK(c[0].threshold == 2);
        CHECK(c[0].change_id == "2");
        CHECK(c[0].failures == 0);
        r.check();
    }
    {
        replay r("63-checks-list-after-stop.http");
        auto c = r.client.checks({});
        REQUIRE_FALSE(c.empty());
        bool inactive = false;
        for (auto& x : c)
            if (x.status == "inactive") inactive = x.change_id.empty();
        CHECK(inactive);
        r.check();
    }
    {
        replay r("67-checks-list-down.http");
        auto c = r.client.checks({});
        REQUIRE(c.size() == 2);
        for (auto& x : c) {
            CHECK(x.status == "down");
            CHECK(x.failures > 0);
            CHECK(x.successes.has_value());
        }
        r.check();
    }
    {
        replay r("62-checks-stop.http");
        CHECK(r.client.stop_checks({"redis-alive"}) == std::vector<std::string>{"redis-alive"});
        r.check();
    }
    {
        replay r("64-checks-start.http");
        CHECK(r.client.start_checks({"redis-alive"}) == std::vector<std::string>{"redis-alive"});
        r.check();
    }
}

TEST_CASE("signals are sent and a stopped service is a 500 api error", "[pebble][transcripts]") {
    {
        replay r("65-signals.http");
        r.client.send_signal({"SIGHUP", {"redis"}});
        r.check();
    }
    replay r("66-signals-not-running-500.http");
    expect_api_error([&] { r.client.send_signal({"SIGHUP", {"nope"}}); }, pb::error::api_error, 500,
                     "cannot send signal to \"nope\": service is not running");
    r.check();
}

TEST_CASE("logs are read from the chunked ndjson body", "[pebble][transcripts]") {
    replay r("69-logs.http");
    auto logs = r.client.logs({{"redis"}, 3});
    REQUIRE(logs.size() == 3);
    CHECK(logs[0].service == "redis");
    CHECK(logs[0].time == "2026-11-25T02:42:30.146Z");
    CHECK(logs[2].message.find("Redis is now ready to exit") != std::string::npos);
    r.check();
}

TEST_CASE("generic error answers keep status and message", "[pebble][transcripts]") {
    {
        rt::replay_server s(rt::replay_server::steps_of("70-error-unknown-endpoint-404.http"));
        pb::client c(options_for(s));
        expect_api_error([&] { c.system_info(); }, pb::error::not_found, 404, "invalid API endpoint requested");
    }
    {
        rt::replay_server s(rt::replay_server::steps_of("71-error-method-not-allowed-405.http"));
        pb::client c(options_for(s));
        expect_api_error([&] { c.system_info(); }, pb::error::api_error, 405, "method \"GET\" not allowed");
    }
    {
        rt::replay_server s(rt::replay_server::steps_of("72-error-truncated-json-400.http"));
        pb::client c(options_for(s));
        expect_api_error([&] { c.start({{"x"}}); }, pb::error::api_error, 400,
                         "cannot decode data from request body: unexpected EOF");
    }
}

TEST_CASE("notices are listed filtered and added", "[pebble][transcripts]") {
    {
        replay r("73-notices.http");
        auto n = r.client.notices({});
        REQUIRE(n.size() == 2);
        CHECK(n[0].type == "change-update");
        CHECK_FALSE(n[0].user_id);
        CHECK(n[0].occurrences == 3);
        CHECK(n[0].last_data.at("kind") == "start");
        CHECK(n[0].expire_after == "168h0m0s");
        r.check();
    }
    {
        replay r("74-notices-add-custom.http");
        pb::add_notice_options o;
        o.key = "example.com/redis/reconciled";
        o.data = {{"port", "6391"}};
        CHECK(r.client.add_notice(o) == "3");
        r.check();
    }
    {
        replay r("75-notices-custom.http");
        pb::notices_options o;
        o.types = {"custom"};
        o.keys = {"example.com/redis/reconciled"};
        auto n = r.client.notices(o);
        REQUIRE(n.size() == 1);
        CHECK(n[0].user_id == 0u);
        CHECK(n[0].last_data.at("port") == "6391");
        r.check();
    }
}

TEST_CASE("the exec envelopes parse as async with a result", "[pebble][transcripts]") {
    auto res = rt::parse_http(rt::load_single("55-exec-echo.http").response);
    pb::detail::envelope env;
    pb::diagnostics d;
    REQUIRE_FALSE(pb::detail::parse_envelope(static_cast<unsigned>(res.status()), res.body, env, d));
    CHECK(env.type == "async");
    CHECK(env.change == "1");
    CHECK(env.result.as_object().at("task-id").as_string() == "1");
    auto bad = rt::parse_http(rt::load_single("54-exec-missing-binary-400.http").response);
    CHECK(pb::detail::parse_envelope(static_cast<unsigned>(bad.status()), bad.body, env, d) == pb::error::api_error);
    CHECK(d.message == "cannot find executable \"nosuchbinary\"");
}

TEST_CASE("the reconcile exchanges run on one kept-alive connection", "[pebble][transcripts]") {
    const std::string name = "90-reconcile-redis.http";
    replay r(name, 30s);
    CHECK(r.client.plan() == "{}\n");
    auto layer = layer_from(recorded_json_body(name, 1));
    r.client.add_layer(layer);
    auto id = r.client.restart({{"redis"}});
    CHECK(id == "1");
    auto ch = r.client.wait_change(id, {});
    CHECK(ch.status == "Done");
    auto plan1 = r.client.plan();
    r.client.add_layer(layer);
    CHECK(r.client.plan() == plan1);
    r.check();  // seven requests, one connection
}

TEST_CASE("every transcript except the websocket upgrades is replayed here", "[pebble][transcripts]") {
    const auto src = rt::read_file(std::string(REDISPEBBLE_SOURCE_DIR) + "/tests/unit/test_pebble_transcripts.cpp");
    for (auto& name : rt::transcript_names()) {
        if (name.rfind("56-", 0) == 0 || name.rfind("57-", 0) == 0) continue;  // the exec issue
        INFO(name);
        CHECK(src.find('"' + name + '"') != std::string::npos);
    }
}

TEST_CASE("the plan is also given parsed into the layer model", "[pebble][transcripts]") {
    replay r("13-plan-redis-layer.http");
    auto plan = r.client.plan_layer();
    REQUIRE(plan.services.count("redis") == 1);
    CHECK(plan.checks.count("redis-alive") == 1);
    CHECK(plan.checks.count("redis-ready") == 1);
    r.check();
}
