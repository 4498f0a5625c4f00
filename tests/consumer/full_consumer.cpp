#include <redispebble/redispebble.hpp>

#include <iostream>

int main() {
    // observe(), decide(), apply() through the installed package, against a socket that is not there.
    redispebble::desired_state desired;
    desired.peer = {redispebble::secret("a-password"), "redis-0", "redis-0"};
    redispebble::pebble::client_options opts;
    opts.socket_path = "/nonexistent/redispebble-consumer/.pebble.socket";
    redispebble::pebble::client c(opts);
    const redispebble::observed_state observed = redispebble::observe(c, desired);  // Pebble not reachable
    const auto d = redispebble::decide(observed, desired);
    const auto r = redispebble::apply(c, desired, d);
    std::cout << redispebble::to_string(d.status_after) << ": " << d.message << "; "
              << redispebble::to_string(r.status) << "\n";
    return d.status_after == redispebble::unit_status::waiting && r.status == redispebble::unit_status::waiting ? 0 : 1;
}
