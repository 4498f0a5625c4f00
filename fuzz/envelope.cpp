// Every response body the client reads, without a socket: the envelope (parse_envelope, with the
// HTTP status taken from the first input byte), then the result read as each shape the client reads
// (changes and their tasks, checks, file results, notices, an exec's exit code). Properties: a
// refused envelope is an error code with a message, never an exception; the readers throw only
// std::exception (the client turns that into bad_envelope) and convert every number without
// undefined behaviour (run under UBSan).
#include "fuzz_target.hpp"

#include <redispebble/pebble/detail/envelope.hpp>
#include <redispebble/pebble/detail/exec_sansio.hpp>
#include <redispebble/pebble/detail/json_util.hpp>

#include <boost/json.hpp>

#include <exception>

namespace {

void read_as_every_shape(const boost::json::value& v) {
    using namespace redispebble::pebble::detail;
    namespace json = boost::json;
    auto guarded = [](auto&& f) {
        try {
            f();
        } catch (const std::exception&) {  // the client's launch() catches these: bad_envelope
        }
    };
    guarded([&] { (void)exit_code_of(to_change(v)); });
    guarded([&] { (void)to_file_results(v); });
    if (v.is_object()) {
        (void)to_task(v.get_object());
        (void)to_check(v.get_object());
        (void)to_notice(v.get_object());
        (void)str(v.get_object(), "id");
        (void)opt_num(v.get_object(), "exit-code");
    }
    if (v.is_array())
        for (const auto& e : v.get_array()) {
            guarded([&] { (void)exit_code_of(to_change(e)); });
            if (e.is_object()) {
                (void)to_check(e.get_object());
                (void)to_notice(e.get_object());
            }
        }
}

} // namespace

REDISPEBBLE_FUZZ_TARGET(envelope) {
    using namespace redispebble::pebble;
    if (size == 0) return 0;
    static constexpr unsigned statuses[] = {200, 202, 400, 401, 403, 404, 405, 500, 502, 504};
    const unsigned status = statuses[data[0] % std::size(statuses)];
    const auto body = redispebble::fuzz::as_text(data + 1, size - 1);
    detail::envelope env;
    diagnostics d;
    const auto ec = detail::parse_envelope(status, body, env, d);
    if (ec) {
        FUZZ_CHECK(!d.message.empty() || !d.kind.empty() || ec != error::bad_envelope);
        return 0;
    }
    FUZZ_CHECK(env.type == "sync" || env.type == "async");
    read_as_every_shape(env.result);
    return 0;
}
