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

TEST_CASE("shlex_split follows x-go's state machine in the corners", "[shlex]") {
    // Words separate on space tab CR and LF only.
    CHECK(shlex_split("a\tb\rc\nd  e") == words{"a", "b", "c", "d", "e"});
    CHECK(shlex_split("a\vb") == words{"a\vb"});
    // Quotes anywhere in a word concatenate, and an empty quoted word is a word.
    CHECK(shlex_split("--x=\"a b\"'c d'e") == words{"--x=a bc de"});
    CHECK(shlex_split("'' \"\" x") == words{"", "", "x"});
    // In double quotes a backslash escapes any rune, itself included, and is dropped.
    CHECK(shlex_split("\"\\a\\\\\\$\\\"\"") == words{"a\\$\""});
    // Outside quotes too, a backslash escapes the next rune: space, quote, newline.
    CHECK(shlex_split("a\\ b\\'c\\\nd") == words{"a b'c\nd"});
    // In single quotes nothing is special but the closing quote.
    CHECK(shlex_split("'a\"b\\ #c'") == words{"a\"b\\ #c"});
    // A comment starts only at the start of a word and runs to the end of the line.
    CHECK(shlex_split("# only a comment") == words{});
    CHECK(shlex_split("a # c1 'unclosed\nb #c2") == words{"a", "b"});
    CHECK(shlex_split("a#b 'x'#y \\#z") == words{"a#b", "x#y", "#z"});
    CHECK(shlex_split("\"#q\"") == words{"#q"});
    // Runes: valid multi-byte UTF-8 passes, every invalid byte becomes U+FFFD.
    CHECK(shlex_split("\xe2\x82\xac \xf0\x9f\x98\x80") == words{"\xe2\x82\xac", "\xf0\x9f\x98\x80"});
    CHECK(shlex_split("a\xe2\x82") == words{"a\xef\xbf\xbd\xef\xbf\xbd"});         // truncated sequence
    CHECK(shlex_split("\xc0\xaf") == words{"\xef\xbf\xbd\xef\xbf\xbd"});           // overlong '/'
    CHECK(shlex_split("\xed\xa0\x80") == words{"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"});  // surrogate
    CHECK(shlex_split("'\xff'") == words{"\xef\xbf\xbd"});
    CHECK(shlex_split("\xf4\x90\x80\x80") == words{"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"});  // > U+10FFFF
}

TEST_CASE("shlex_split errors are input errors with x-go's words", "[shlex]") {
    CHECK_THROWS_WITH(shlex_split("a 'b"), Catch::Contains("EOF found when expecting closing quote"));
    CHECK_THROWS_WITH(shlex_split("a \"b\\\""), Catch::Contains("EOF found when expecting closing quote"));
    CHECK_THROWS_WITH(shlex_split("a b\\"), Catch::Contains("EOF found after escape character"));
    CHECK_THROWS_WITH(shlex_split("\"b\\"), Catch::Contains("EOF found after escape character"));
    CHECK_NOTHROW(shlex_split("a #'unclosed in a comment"));
}

TEST_CASE("shlex_quote follows x-go Quote", "[shlex]") {
    CHECK(shlex_quote("") == "''");
    CHECK(shlex_quote("a b") == "'a b'");
    CHECK(shlex_quote("$x") == "'$x'");
    CHECK(shlex_quote("a'b") == "'a'\"'\"'b'");
    CHECK(shlex_quote("caf\xc3\xa9") == "'caf\xc3\xa9'");
    CHECK(shlex_quote("#x") == "'#x'");
    CHECK(shlex_quote("[") == "'['");
    CHECK(shlex_join({"redis-server", "--requirepass", "a b", ""}) == "redis-server --requirepass 'a b' ''");
}

TEST_CASE("shlex_join round-trips every byte value that is valid UTF-8", "[shlex]") {
    words all;
    for (int c = 1; c < 0x80; ++c) all.push_back(std::string(1, static_cast<char>(c)) + "x" + std::string(1, static_cast<char>(c)));
    all.push_back("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    all.push_back("p a\"s's$w\\ord#\xc3\xa9");
    all.push_back("\\");
    all.push_back("\"");
    all.push_back(" ");
    all.push_back("\r\n\t");
    all.push_back("#");
    CHECK(shlex_split(shlex_join(all)) == all);
    // Bytes that are not UTF-8 would not survive (Pebble reads runes): quoting refuses them.
    CHECK_THROWS_AS(shlex_join({"a\xff"}), input_error);
    CHECK(shlex_split("a\xff") == words{"a\xef\xbf\xbd"});
}

TEST_CASE("parse_service_command keeps Pebble's group rules", "[shlex]") {
    auto open_group = parse_service_command("cmd a [ b c");  // Pebble does not require the ]
    CHECK(open_group.base == words{"cmd", "a"});
    CHECK(open_group.extra == words{"b", "c"});
    auto empty_group = parse_service_command("cmd [ ]");
    CHECK(empty_group.base == words{"cmd"});
    CHECK(empty_group.extra.empty());
    auto quoted = parse_service_command("cmd '[x' \"x]\"");
    CHECK(quoted.base == words{"cmd", "[x", "x]"});
    CHECK(parse_service_command("").base.empty());
    CHECK_THROWS_AS(parse_service_command("cmd 'open"), input_error);
    CHECK_THROWS_WITH(parse_service_command("cmd 'open"), Catch::Contains("EOF found when expecting closing quote"));
    CHECK_THROWS_WITH(parse_service_command("cmd ] x"), Catch::Contains("cannot have ] outside of [ ... ] group"));
    try {
        (void)parse_service_command("[ a ]");
        FAIL("no exception");
    } catch (const input_error& e) {
        CHECK(e.key() == "command");
    }
}

TEST_CASE("shlex_quote refuses a word that Pebble's splitting cannot give back", "[shlex][fuzz]") {
    for (const std::string& bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xed\xa0\x80"),
                                  std::string("\xc0\xaf"), std::string("ok \xf7\xbf\xbf\xbf")}) {
        CHECK_THROWS_AS(shlex_quote(bad), input_error);
        CHECK_THROWS_AS(shlex_join({"redis-server", bad}), input_error);
    }
    // Every quotable word comes back as itself: every single byte that is valid UTF-8 alone,
    // and multi-byte text.
    for (int b = 1; b < 0x80; ++b) {
        // Built with push_back: "x" + std::string(1, c) + "y" trips GCC 12's false -Wrestrict at -O3
        // (https://gcc.gnu.org/bugzilla/show_bug.cgi?id=105329).
        std::string w = "x";
        w.push_back(static_cast<char>(b));
        w.push_back('y');
        CHECK(shlex_split(shlex_quote(w)) == words{w});
    }
    for (const std::string& w : {std::string("caf\xc3\xa9"), std::string("\xf0\x9f\x98\x80 '\""), std::string("")})
        CHECK(shlex_split(shlex_quote(w)) == words{w});
}
