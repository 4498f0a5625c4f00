// Uses only the pure core: must build without Boost on the include path.
#include <redispebble/core.hpp>

#include <iostream>

int main() {
    redispebble::redis_config cfg;
    redispebble::peer_data peer{redispebble::secret("p4ss word"), "redis-0", "redis-0"};
    auto flags = redispebble::redis_flags(cfg, peer);
    std::cout << redispebble::describe(flags) << "\n";
    return flags.empty() ? 1 : 0;
}
