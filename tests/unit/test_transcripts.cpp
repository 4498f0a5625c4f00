#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

using namespace redispebble::test;

TEST_CASE("Every recorded transcript splits into requests and responses with consistent framing", "[transcripts]") {
    auto names = transcript_names();
    REQUIRE(names.size() >= 60);
    for (const auto& name : names) {
        INFO(name);
        auto exchanges = load_transcript(name);
        REQUIRE(!exchanges.empty());
        for (const auto& ex : exchanges) {
            auto req = parse_http(ex.request);
            auto resp = parse_http(ex.response);
            CHECK(req.header("host") == "localhost");
            CHECK(req.target().rfind("/v1/", 0) == 0);
            if (!req.header("content-length").empty())
                CHECK(std::stoul(req.header("content-length")) == req.body.size());
            if (resp.status() != 101 && resp.header("transfer-encoding").empty())
                CHECK(std::stoul(resp.header("content-length")) == resp.body.size());
        }
    }
    CHECK(load_transcript("90-reconcile-redis.http").size() == 7);
}

TEST_CASE("A chunked response is de-chunked", "[transcripts]") {
    auto resp = parse_http(load_single("69-logs.http").response);
    CHECK(resp.status() == 200);
    CHECK(resp.header("content-type") == "application/x-ndjson");
    CHECK(resp.body.find("\"service\":\"redis\"") != std::string::npos);
    CHECK(resp.body.find("0\r\n") == std::string::npos);
}
