// An example controller: reconciles many Redis units, each behind its own Pebble socket, at once on
// one io_context (one pebble::client per unit, async_reconcile for each).
//
//   redispebble_controller --unit SOCKET CONFIG PEER [--unit SOCKET CONFIG PEER]...
//
// Prints one line per unit and exits 0 when every unit is Active, 3 when some wait, 4 when some
// are blocked, 2 for bad input.
#include <redispebble/redispebble.hpp>

#include <boost/asio/io_context.hpp>

#include <fmt/core.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct unit {
    std::string socket;
    redispebble::desired_state desired;
    std::unique_ptr<redispebble::pebble::client> client;
    redispebble::reconcile_report report;
};

} // namespace

int main(int argc, char** argv) {
    // The io_context first: it must outlive every client that runs on it (they are destroyed in
    // the reverse order of declaration; see pebble::client's constructors).
    boost::asio::io_context io;
    std::vector<unit> units;
    try {
        for (int i = 1; i < argc; ++i) {
            if (std::string(argv[i]) != "--unit" || i + 3 >= argc)
                throw std::runtime_error("usage: redispebble_controller --unit SOCKET CONFIG PEER [--unit ...]");
            unit u;
            u.socket = argv[i + 1];
            u.desired.config = redispebble::load_config(slurp(argv[i + 2]), argv[i + 2]);
            u.desired.peer = redispebble::load_peer_data(slurp(argv[i + 3]), argv[i + 3]);
            units.push_back(std::move(u));
            i += 3;
        }
        if (units.empty()) throw std::runtime_error("usage: redispebble_controller --unit SOCKET CONFIG PEER [--unit ...]");
    } catch (const std::exception& e) {
        fmt::print(stderr, "redispebble_controller: {}\n", e.what());
        return 2;
    }

    for (auto& u : units) {
        redispebble::pebble::client_options o;
        o.socket_path = u.socket;
        u.client = std::make_unique<redispebble::pebble::client>(io, o);
        redispebble::async_reconcile(*u.client, u.desired, {},
                                     [&u](redispebble::pebble::error_code, redispebble::reconcile_report r) {
                                         u.report = std::move(r);
                                     });
    }
    io.run();  // every unit reconciles concurrently on this one thread

    int worst = 0;
    for (const auto& u : units) {
        fmt::print("{}: {}{}{} ({} actions)\n", u.socket, to_string(u.report.status), u.report.message.empty() ? "" : ": ",
                   u.report.message, u.report.actions_done.size());
        const int code = u.report.status == redispebble::unit_status::active    ? 0
                         : u.report.status == redispebble::unit_status::blocked ? 4
                                                                                : 3;
        worst = std::max(worst, code);
    }
    return worst;
}
