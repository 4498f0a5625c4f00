#include "support/command_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

namespace redispebble::test {

boost::json::object json_of(const command_result& r) {
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(r.out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return std::move(v.as_object());
}

std::string string_of(const boost::json::value& v) {
    INFO(boost::json::serialize(v));
    REQUIRE(v.is_string());
    return std::string(v.as_string());
}

std::string string_at(const boost::json::object& o, std::string_view key) {
    INFO("member " << key << " of " << boost::json::serialize(o));
    const auto* v = o.if_contains(key);
    REQUIRE(v);
    return string_of(*v);
}

bool any_path(const boost::json::value& list, std::string_view prefix) {
    for (const auto& e : list.as_array())
        if (string_at(e.as_object(), "path").rfind(prefix, 0) == 0) return true;
    return false;
}

void check_members(const boost::json::object& o, const boost::json::object& want) {
    for (const auto& [key, value] : want) {
        INFO("member " << key);
        const auto* got = o.if_contains(key);
        CHECK(got);
        if (got) CHECK(*got == value);
    }
}

} // namespace redispebble::test
