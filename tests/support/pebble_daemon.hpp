// Test support: a real `pebble` daemon (from $PEBBLE_BIN) in a temporary state directory.
#ifndef REDISPEBBLE_TESTS_SUPPORT_PEBBLE_DAEMON_HPP
#define REDISPEBBLE_TESTS_SUPPORT_PEBBLE_DAEMON_HPP

#include <redispebble/testing/process.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace redispebble::test {

/// The real Pebble binary named by PEBBLE_BIN, or nullopt (tests then SKIP, never fail).
std::optional<std::string> pebble_bin();

/// `pebble run` with PEBBLE=<temp dir>; the socket is ready when the constructor returns.
class pebble_daemon {
public:
    /// `layer_files`: path under $PEBBLE/layers ("001-base.yaml", "002-x.d/001-y.yaml") -> YAML,
    /// written before Pebble starts (Pebble reads them at start-up).
    explicit pebble_daemon(const std::string& binary, const std::map<std::string, std::string>& layer_files = {});
    ~pebble_daemon();
    const std::string& socket_path() const noexcept { return socket_; }
    const std::string& state_dir() const noexcept { return dir_; }
    /// Stops the daemon (and with it its services), as a container restart does.
    void stop();
    /// Starts it again on the same state directory: changes are kept, layers added by the API lost.
    void start();
    std::string output();

private:
    std::string binary_, dir_, socket_;
    std::unique_ptr<testing::child_process> process_;
};

} // namespace redispebble::test

#endif
