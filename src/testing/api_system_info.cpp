// GET /v1/system-info's boot id (Pebble's api_sysinfo.go).
#include "daemon.hpp"

namespace redispebble::testing {

std::string pebble_server::impl::boot_id() const {
    static const std::string id = [] {
        std::ifstream in("/proc/sys/kernel/random/boot_id");
        std::string s;
        std::getline(in, s);
        return s;
    }();
    return id;
}

} // namespace redispebble::testing
