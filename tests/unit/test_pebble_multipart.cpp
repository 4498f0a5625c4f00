// The sans-io multipart parser used by file pulls and pushes.
#include <redispebble/pebble/detail/multipart.hpp>

#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace pb = redispebble::pebble;
namespace rt = redispebble::test;

TEST_CASE("the multipart parser handles any split of its input", "[pebble][multipart]") {
    auto raw = rt::parse_http(rt::load_single("45-files-read-two.http").response);
    auto boundary = pb::detail::multipart_boundary(raw.header("content-type"));
    REQUIRE(boundary.size() == 60);
    for (std::size_t piece : {std::size_t(1), std::size_t(3), std::size_t(61), raw.body.size()}) {
        pb::detail::multipart_parser p(boundary);
        std::vector<std::string> names, bodies;
        p.on_part = [&](const pb::detail::part_header& h) {
            names.push_back(h.name + ":" + h.filename);
            bodies.emplace_back();
        };
        p.on_data = [&](std::span<const char> d) { bodies.back().append(d.data(), d.size()); };
        for (std::size_t i = 0; i < raw.body.size(); i += piece) REQUIRE(p.feed(std::string_view(raw.body).substr(i, piece)));
        CHECK(p.done());
        REQUIRE(names.size() == 3);
        CHECK(names[0] == "files:/tmp/pbt-files/a.txt");
        CHECK(bodies[0] == "A\n");
        CHECK(bodies[1] == "B\n");
        CHECK(names[2] == "response:");
    }
    pb::detail::multipart_parser bad("x");
    CHECK_FALSE(bad.feed("--x\r\nno-end-of-headers" + std::string(20000, 'a')));
}

TEST_CASE("boundaries and quoted filenames are read like Go does", "[pebble][multipart]") {
    CHECK(pb::detail::multipart_boundary("multipart/form-data; boundary=abc") == "abc");
    CHECK(pb::detail::multipart_boundary("multipart/form-data; boundary=\"a b\"") == "a b");
    CHECK(pb::detail::multipart_boundary("application/json").empty());
    CHECK(pb::detail::escape_quotes("/tmp/a\"b") == "/tmp/a\\\"b");
}
