#include <redispebble/redispebble.hpp>

#include <iostream>

int main() {
    redispebble::observed_state observed;  // Pebble not reachable
    redispebble::desired_state desired;
    auto d = redispebble::decide(observed, desired);
    std::cout << redispebble::to_string(d.status) << ": " << d.message << "\n";
    return d.status == redispebble::unit_status::waiting ? 0 : 1;
}
