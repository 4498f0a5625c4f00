// A blocking write of a whole buffer to a socket, header-only: for the replay server and for the
// benchmark's raw side (bench/bench_client.cpp includes it), which must not go through the client.
#ifndef REDISPEBBLE_TESTS_SUPPORT_RAW_SOCKET_HPP
#define REDISPEBBLE_TESTS_SUPPORT_RAW_SOCKET_HPP

#include <sys/socket.h>

#include <cstddef>
#include <string_view>

namespace redispebble::test {

/// Sends all of `s` on the connected socket `fd` (MSG_NOSIGNAL: a closed peer is an error, not
/// SIGPIPE). False when the peer is gone or send fails; how much was sent is then unknown.
inline bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace redispebble::test

#endif
