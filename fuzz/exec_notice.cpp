// Exec and notice JSON without a socket: the change an exec waits for (its tasks' `exit-code`),
// notices (GET /v1/notices), and the log stream's JSON lines (GET /v1/logs, follow mode), fed in
// pieces as they arrive from the socket. Properties: no exception but std::exception from the
// change reader (the client's bad_envelope); the log reader consumes whole lines only and keeps
// the rest, whatever the pieces, and gives the same entries as one piece.
#include "fuzz_target.hpp"

#include <redispebble/pebble/detail/exec_sansio.hpp>
#include <redispebble/pebble/detail/json_util.hpp>

#include <boost/json.hpp>

#include <exception>
#include <vector>

namespace {

struct log_run {
    std::vector<std::string> entries;
    bool ok = true;
    friend bool operator==(const log_run&, const log_run&) = default;
};

log_run read_logs(std::string_view text, std::size_t piece) {
    using namespace redispebble::pebble;
    log_run r;
    std::string pending;
    std::vector<log_entry> out;
    diagnostics d;
    for (std::size_t i = 0; i < text.size() && r.ok; i += piece) {
        pending.append(text.substr(i, piece));
        r.ok = detail::parse_log_lines(pending, out, d);
        if (r.ok) FUZZ_CHECK(pending.find('\n') == std::string::npos);
        else FUZZ_CHECK(!d.message.empty());
    }
    for (const auto& e : out) r.entries.push_back(e.time + "|" + e.service + "|" + e.message);
    return r;
}

} // namespace

REDISPEBBLE_FUZZ_TARGET(exec_notice) {
    using namespace redispebble::pebble;
    const auto text = redispebble::fuzz::as_text(data, size);
    boost::system::error_code jec;
    const auto v = boost::json::parse(text, jec);
    if (!jec) {
        try {
            (void)detail::exit_code_of(detail::to_change(v));
        } catch (const std::exception&) {
        }
        if (v.is_object()) (void)detail::to_notice(v.get_object());
        if (v.is_array())
            for (const auto& e : v.get_array())
                if (e.is_object()) (void)detail::to_notice(e.get_object());
    }
    const auto whole = read_logs(text, text.size() + 1);
    const auto small = read_logs(text, 3);
    // Entries before the first bad line are the same; so is whether a bad line was met.
    FUZZ_CHECK(whole.ok == small.ok);
    if (whole.ok) FUZZ_CHECK(whole == small);
    return 0;
}
