// Error codes, conditions and the exception of the Pebble client.
#include <redispebble/pebble/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <system_error>

namespace asio = boost::asio;
namespace pb = redispebble::pebble;

TEST_CASE("error codes have a category messages and conditions", "[pebble][errors]") {
    pb::error_code ec = pb::error::timeout;
    CHECK(std::string(ec.category().name()) == "redispebble.pebble");
    CHECK_FALSE(ec.message().empty());
    CHECK(ec == pb::condition::timeout);
    CHECK(pb::error_code(boost::beast::error::timeout) == pb::condition::timeout);
    CHECK(pb::error_code(asio::error::timed_out) == pb::condition::timeout);
    CHECK(pb::error_code(pb::error::socket_not_found) == pb::condition::transport);
    CHECK(pb::error_code(pb::error::connection_refused) == pb::condition::transport);
    CHECK(pb::error_code(pb::error::bad_envelope) == pb::condition::protocol);
    CHECK(pb::error_code(pb::error::not_found) == pb::condition::api);
    CHECK(pb::error_code(pb::error::not_found) != pb::condition::timeout);
    std::error_code sec = pb::error_code(pb::error::api_error);
    CHECK(sec.value() == static_cast<int>(pb::error::api_error));
}

TEST_CASE("api_exception carries the diagnostics and says them", "[pebble][errors]") {
    pb::diagnostics d{404, "not-found", "cannot find change with id \"9\"", ""};
    pb::api_exception e(pb::error::not_found, d);
    CHECK(e.code() == pb::error::not_found);
    CHECK(e.get_diagnostics().kind == "not-found");
    CHECK(std::string(e.what()).find("cannot find change") != std::string::npos);
    CHECK_THROWS_AS(pb::throw_if_failed(pb::error::timeout, {}), pb::api_exception);
    CHECK_NOTHROW(pb::throw_if_failed({}, d));
}

TEST_CASE("api_exception never quotes the source location of the error code", "[pebble][errors]") {
    static constexpr boost::source_location here = BOOST_CURRENT_LOCATION;
    pb::error_code located(EINVAL, boost::system::system_category(), &here);
    REQUIRE(located.what().find(here.file_name()) != std::string::npos);
    pb::api_exception e(located, {0, "", "cannot connect to /x", ""});
    CHECK(e.code() == located);
    CHECK(std::string(e.what()).find(here.file_name()) == std::string::npos);
    CHECK(std::string(e.what()).find("cannot connect to /x") != std::string::npos);
}
