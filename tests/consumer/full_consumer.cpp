#include <redispebble/redispebble.hpp>

#include <iostream>

int main() {
    redispebble::observed_state observed;  // Pebble not reachable
    redispebble::desired_state desired;
    auto d = redispebble::decide(observed, desired);
    std::cout << redispebble::to_string(d.status_after) << ": " << d.message << "\n";
    return d.status_after == redispebble::unit_status::waiting ? 0 : 1;
}
