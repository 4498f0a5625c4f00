#include <redispebble/shlex.hpp>

#include <redispebble/error.hpp>

#include <catch2/catch.hpp>

using namespace redispebble;
using words = std::vector<std::string>;

TEST_CASE("shlex_split splits like Pebble", "[shlex]") {
    CHECK(shlex_split("one \"two three\" four") == words{"one", "two three", "four"});
    CHECK(shlex_split("redis-server --save \"\" --appendonly no") == words{"redis-server", "--save", "", "--appendonly", "no"});
    CHECK(shlex_split("a'b c'd") == words{"ab cd"});
    CHECK(shlex_split("a\\ b") == words{"a b"});
    CHECK(shlex_split("\"a\\\"b\"") == words{"a\"b"});
    CHECK(shlex_split("'a\\b'") == words{"a\\b"});
    CHECK(shlex_split("x #comment here\ny") == words{"x", "y"});
    CHECK(shlex_split("x a#b") == words{"x", "a#b"});
    CHECK(shlex_split("  \t\n ") == words{});
    CHECK(shlex_split("caf\xc3\xa9") == words{"caf\xc3\xa9"});
    CHECK(shlex_split("bad\xff") == words{"bad\xef\xbf\xbd"});
}

TEST_CASE("shlex_split rejects unterminated quotes and trailing escapes", "[shlex]") {
    CHECK_THROWS_AS(shlex_split("'open"), input_error);
    CHECK_THROWS_AS(shlex_split("\"open"), input_error);
    CHECK_THROWS_AS(shlex_split("end\\"), input_error);
}

TEST_CASE("shlex_join round-trips awkward words through shlex_split", "[shlex]") {
    const words awkward{"plain", "", "with space", "it's", "\"double\"", "$HOME", "back\\slash", "#hash",
                        "tab\there", "new\nline", "caf\xc3\xa9 \xe2\x82\xac", "'", "''", "a'\"b", "[x]", "--flag=v"};
    CHECK(shlex_split(shlex_join(awkward)) == awkward);
    for (const auto& w : awkward) CHECK(shlex_split(shlex_quote(w)) == words{w});
    CHECK(shlex_quote("simple-word_1.2:3@4%5+6=7,8/9") == "simple-word_1.2:3@4%5+6=7,8/9");
    CHECK(shlex_quote("it's") == "'it'\"'\"'s'");
}

TEST_CASE("parse_service_command separates the default arguments group", "[shlex]") {
    auto p = parse_service_command("redis-server --port 1 [ --loglevel verbose ]");
    CHECK(p.base == words{"redis-server", "--port", "1"});
    CHECK(p.extra == words{"--loglevel", "verbose"});
    CHECK_THROWS_WITH(parse_service_command("[ x ]"), Catch::Contains("cannot start command with [ ... ] group"));
    CHECK_THROWS_WITH(parse_service_command("a [ b [ c ] ]"), Catch::Contains("cannot nest"));
    CHECK_THROWS_WITH(parse_service_command("a [ b ] c"), Catch::Contains("after [ ... ] group"));
    CHECK_THROWS_WITH(parse_service_command("a ]"), Catch::Contains("outside of [ ... ] group"));
    // A quoted bracket is still a bracket word after splitting: Pebble cannot carry it (it starts
    // a default-arguments group that Pebble does not even require to be closed).
    auto lost = parse_service_command("redis-server --requirepass '['");
    CHECK(lost.base == words{"redis-server", "--requirepass"});
    CHECK(lost.extra.empty());
}
