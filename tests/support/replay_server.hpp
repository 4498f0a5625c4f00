// Test support: a tiny scripted HTTP server on a Unix socket in a temporary directory. It reads one
// request at a time, records its raw bytes and answers with the next scripted step.
#ifndef REDISPEBBLE_TESTS_SUPPORT_REPLAY_SERVER_HPP
#define REDISPEBBLE_TESTS_SUPPORT_REPLAY_SERVER_HPP

#include "support/run_command.hpp"  // temp_dir

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace redispebble::test {

/// What the server does after reading a request.
struct replay_step {
    enum class action {
        respond,            ///< write `response`, keep the connection
        respond_and_close,  ///< write `response`, then close the connection
        close,              ///< close without answering
        half_then_close,    ///< write the first half of `response`, then close
        silent,             ///< never answer (until the server is destroyed)
        half_then_silent,   ///< write the first half of `response`, then nothing more
        trickle,            ///< write `response` in 8 pieces, `pause` before each after the first
    };
    std::string response;
    action what = action::respond;
    std::chrono::milliseconds pause{0};  ///< for trickle
};

class replay_server {
public:
    /// Serves `steps` in order, across as many connections as the client opens. With
    /// repeat_last, the last step answers every further request.
    explicit replay_server(std::vector<replay_step> steps, bool repeat_last = false);
    /// Serves the recorded responses of a transcript file, all on one connection.
    static std::vector<replay_step> steps_of(const std::string& transcript_name);
    ~replay_server();
    replay_server(const replay_server&) = delete;
    replay_server& operator=(const replay_server&) = delete;

    const std::string& socket_path() const { return socket_path_; }
    /// The raw bytes of every request read so far.
    std::vector<std::string> requests() const;
    /// How many connections were accepted.
    int connections() const { return connections_.load(); }

private:
    void run();
    bool read_request(int fd, std::string& pending, std::string& out);
    std::vector<replay_step> steps_;
    bool repeat_last_;
    std::string dir_;
    std::string socket_path_;
    int listen_fd_ = -1;
    std::atomic<int> conn_fd_{-1};
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

} // namespace redispebble::test

#endif
