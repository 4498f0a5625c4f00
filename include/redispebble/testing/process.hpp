// redispebble::testing — child processes for tests and for the test server (POSIX).
#ifndef REDISPEBBLE_TESTING_PROCESS_HPP
#define REDISPEBBLE_TESTING_PROCESS_HPP

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redispebble::testing {

struct process_options {
    std::vector<std::string> argv;                 ///< argv[0] is looked up in PATH when it has no '/'
    std::map<std::string, std::string> environment;///< added to (overriding) the parent's environment
    std::string working_dir;                       ///< "" = inherit
    std::optional<std::string> user;               ///< switch to this user (only when running as root)
    std::optional<std::string> group;
    std::string output_file;                       ///< stdout+stderr appended here; "" = a pipe read by output()
};

/// A running child. Destruction terminates it (SIGTERM, then SIGKILL after 2 s) and reaps it.
class child_process {
public:
    /// Starts the process; throws std::system_error naming argv[0] when it cannot be started
    /// (missing executable, bad working directory, unknown user or group): the child reports the
    /// errno of a failed chdir/setgid/setuid/exec through a close-on-exec pipe, so the constructor
    /// returns only once exec has succeeded. The child runs in its own process group.
    explicit child_process(const process_options& opts);
    ~child_process();
    child_process(child_process&&) noexcept;
    child_process& operator=(child_process&&) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    int pid() const noexcept;
    /// True while the process has not exited (reaps it without blocking when it has).
    bool running();
    /// Waits up to `timeout` for exit; the exit status (code, or 128+signal), nullopt on timeout.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    /// Sends a signal (no-op when already exited).
    void signal(int signo);
    /// SIGTERM, wait up to `grace`, then SIGKILL; returns the exit status.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(2));
    /// Everything the process has written so far (stdout and stderr, interleaved; the last 1 MiB of
    /// a chatty process). Once the process has exited this is all of it: the call waits (up to 1 s)
    /// for the background reader to drain the pipe. Empty with output_file.
    std::string output();

private:
    struct impl;
    impl* impl_ = nullptr;
};

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
int free_tcp_port();

/// Waits until a TCP connect to 127.0.0.1:port succeeds or `timeout` passes.
bool wait_for_tcp(int port, std::chrono::milliseconds timeout);

} // namespace redispebble::testing

#endif
