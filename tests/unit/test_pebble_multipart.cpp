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

TEST_CASE("part bodies full of near delimiters come out whole at every split", "[pebble][multipart]") {
    // Bodies holding CRs, "\r\n-" and delimiters missing their last byte, split at every size up
    // to past twice the delimiter and at large pieces: what is held back between pieces (a
    // possible delimiter start) must come out, and no real delimiter may be missed across a seam.
    const std::string boundary = "bnd0123456789";
    std::vector<std::string> want;
    std::string body = "preamble\r\n--" + boundary + "\r\n";
    unsigned seed = 7;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
    for (int i = 0; i < 3; ++i) {
        std::string c;
        for (int k = 0; k < 3000; ++k) {
            switch (next() % 8) {
            case 0: c += "\r\n--bnd01234567"; break;
            case 1: c += "\r\n-"; break;
            case 2: c += '\r'; break;
            default: c += static_cast<char>('a' + next() % 26);
            }
        }
        want.push_back(c);
        body += "Content-Disposition: form-data; name=\"files\"; filename=\"/f" + std::to_string(i) + "\"\r\n\r\n" + c +
                "\r\n--" + boundary + (i == 2 ? "--\r\n" : "\r\n");
    }
    std::vector<std::size_t> pieces;
    for (std::size_t n = 1; n <= 40; ++n) pieces.push_back(n);
    for (std::size_t n : {std::size_t(4093), std::size_t(65536), body.size()}) pieces.push_back(n);
    for (std::size_t piece : pieces) {
        INFO("piece " << piece);
        pb::detail::multipart_parser p(boundary);
        std::vector<std::string> got;
        int ends = 0;
        p.on_part = [&](const pb::detail::part_header&) { got.emplace_back(); };
        p.on_data = [&](std::span<const char> d) { got.back().append(d.data(), d.size()); };
        p.on_part_end = [&] { ++ends; };
        for (std::size_t i = 0; i < body.size(); i += piece) REQUIRE(p.feed(std::string_view(body).substr(i, piece)));
        CHECK(p.done());
        CHECK(ends == 3);
        CHECK(got == want);
    }
}

TEST_CASE("part headers longer than 16 KiB are refused even when they end in the same piece", "[pebble][multipart]") {
    pb::detail::multipart_parser p("x");
    const std::string body = "--x\r\nX-Long: " + std::string(17 * 1024, 'a') + "\r\n\r\nbody\r\n--x--\r\n";
    CHECK_FALSE(p.feed(body));
    CHECK(p.error() == "multipart part headers too long");
}

TEST_CASE("boundaries and quoted filenames are read like Go does", "[pebble][multipart]") {
    CHECK(pb::detail::multipart_boundary("multipart/form-data; boundary=abc") == "abc");
    CHECK(pb::detail::multipart_boundary("multipart/form-data; boundary=\"a b\"") == "a b");
    CHECK(pb::detail::multipart_boundary("application/json").empty());
    CHECK(pb::detail::escape_quotes("/tmp/a\"b") == "/tmp/a\\\"b");
}
