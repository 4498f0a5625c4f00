#include <redispebble/testing/process.hpp>

#include "accounts.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

extern char** environ;

namespace redispebble::testing {

struct child_process::impl {
    pid_t pid = -1;
    std::optional<int> status;
    int out_fd = -1;
    std::mutex status_mutex;  // guards status and the waitpid that sets it
    std::mutex mutex;         // guards output and drained
    std::condition_variable drained_cv;
    bool drained = false;  // the reader saw EOF: every writer (the child and its children) is gone
    std::string output;
    std::thread reader;

    void start_reader() {
        reader = std::thread([this] {
            char buf[16384];
            for (;;) {
                ssize_t n = ::read(out_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                std::lock_guard<std::mutex> lock(mutex);
                output.append(buf, static_cast<std::size_t>(n));
                // Bound memory: keep the last 1 MiB of a chatty process.
                if (output.size() > (2u << 20)) output.erase(0, output.size() - (1u << 20));
            }
            std::lock_guard<std::mutex> lock(mutex);
            drained = true;
            drained_cv.notify_all();
        });
    }

    // Reaps the child once, whichever thread asks (the test server's reaper and a caller of
    // running() or wait_for() may race): waitpid and the write of `status` happen under
    // status_mutex, so the loser never records -1 (ECHILD) over the real status. A blocking reap
    // waits for the exit with WNOWAIT outside the lock first, so the lock is never held long.
    bool reap(int flags) {
        if (!(flags & WNOHANG)) {
            siginfo_t info{};
            int r;
            do {
                r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT);
            } while (r < 0 && errno == EINTR);
        }
        std::lock_guard<std::mutex> lock(status_mutex);
        if (status) return true;
        int st = 0;
        pid_t r;
        do {
            r = ::waitpid(pid, &st, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return true;
        }
        if (r < 0) status = -1;  // not our child any more
        return status.has_value();
    }
    std::optional<int> exit_status() {
        std::lock_guard<std::mutex> lock(status_mutex);
        return status;
    }

    ~impl() {
        if (reader.joinable()) reader.join();
        if (out_fd >= 0) ::close(out_fd);
    }
};

namespace {

[[noreturn]] void child_fail(int report_fd, int stage) {
    int err[2] = {stage, errno};
    (void)!::write(report_fd, err, sizeof err);
    ::_exit(127);
}

} // namespace

namespace {

// Closes the descriptors it holds unless released: keeps the constructor's error paths leak-free.
struct fd_guard {
    int fds[4] = {-1, -1, -1, -1};
    ~fd_guard() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
    static void close(int& fd) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

} // namespace

child_process::child_process(const process_options& opts) {
    if (opts.argv.empty())
        throw std::system_error(std::make_error_code(std::errc::invalid_argument), "empty argv");
    // Resolve user and group before fork: the look-ups are not async-signal-safe.
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    if (::geteuid() == 0) {
        if (opts.user) {
            const auto pw = accounts::user(*opts.user);
            if (!pw)
                throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                        "unknown user \"" + *opts.user + "\" for \"" + opts.argv[0] + "\"");
            uid = pw->first;
            gid = pw->second;
        }
        if (opts.group) {
            const auto gr = accounts::group(*opts.group);
            if (!gr)
                throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                        "unknown group \"" + *opts.group + "\" for \"" + opts.argv[0] + "\"");
            gid = *gr;
        }
    }
    // Everything the child needs is built before fork: after fork only async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        const auto key = kv.substr(0, kv.find('='));
        if (!opts.environment.count(key)) env_strings.push_back(std::move(kv));
    }
    for (const auto& [k, v] : opts.environment) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = opts.argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    auto state = std::make_unique<impl>();
    fd_guard fds;
    int& report_r = fds.fds[0];
    int& report_w = fds.fds[1];
    int& out_r = fds.fds[2];
    int& out_w = fds.fds[3];
    {
        int report[2];
        if (::pipe2(report, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
        report_r = report[0];
        report_w = report[1];
    }
    if (opts.output_file.empty()) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
        out_r = out[0];
        out_w = out[1];
    } else {
        out_w = ::open(opts.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out_w < 0) throw std::system_error(errno, std::generic_category(), "open " + opts.output_file);
    }
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        if (devnull >= 0) ::close(devnull);
        throw std::system_error(err, std::generic_category(), "fork");
    }
    if (pid == 0) {
        ::setpgid(0, 0);  // its own process group: terminate() reaches its children too
        if (devnull >= 0) ::dup2(devnull, 0);
        ::dup2(out_w, 1);
        ::dup2(out_w, 2);
        if (!opts.working_dir.empty() && ::chdir(opts.working_dir.c_str()) != 0) child_fail(report_w, 1);
        if (gid && (::setgroups(0, nullptr) != 0 || ::setgid(*gid) != 0)) child_fail(report_w, 2);
        if (uid && ::setuid(*uid) != 0) child_fail(report_w, 3);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvpe(argv[0], argv.data(), envp.data());
        child_fail(report_w, 4);
    }
    // Parent. Our copies of the child's ends must go, or EOF never comes.
    fds.close(report_w);
    fds.close(out_w);
    if (devnull >= 0) ::close(devnull);
    state->pid = pid;
    // The report pipe is close-on-exec: EOF means exec succeeded, a record means it failed.
    int err[2] = {0, 0};
    ssize_t n;
    do {
        n = ::read(report_r, err, sizeof err);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof err)) {
        state->reap(0);
        static const char* stages[] = {"", "cannot change to working directory", "cannot set group", "cannot set user",
                                       "cannot execute"};
        std::string what = std::string(stages[err[0] >= 1 && err[0] <= 4 ? err[0] : 4]) + " for \"" + opts.argv[0] + "\"";
        if (err[0] == 1) what += " (" + opts.working_dir + ")";
        throw std::system_error(err[1], std::generic_category(), what);
    }
    if (out_r >= 0) {
        state->out_fd = out_r;
        out_r = -1;  // owned by impl now
        state->start_reader();
    }
    impl_ = state.release();
}

child_process::~child_process() {
    if (!impl_) return;
    if (!impl_->reap(WNOHANG)) terminate();
    ::kill(-impl_->pid, SIGKILL);  // leftovers of its process group would keep the output pipe open
    delete impl_;
}

child_process::child_process(child_process&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }

child_process& child_process::operator=(child_process&& o) noexcept {
    if (this != &o) {
        child_process old(std::move(*this));  // terminates and reaps what this held
        impl_ = o.impl_;
        o.impl_ = nullptr;
    }
    return *this;
}

int child_process::pid() const noexcept { return impl_ ? impl_->pid : -1; }

bool child_process::running() { return impl_ && !impl_->reap(WNOHANG); }

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
    if (!impl_) return -1;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!impl_->reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return impl_->exit_status();
}

void child_process::signal(int signo) {
    if (impl_ && !impl_->reap(WNOHANG)) ::kill(impl_->pid, signo);
}

int child_process::terminate(std::chrono::milliseconds grace) {
    if (!impl_) return -1;
    if (!impl_->reap(WNOHANG)) {
        ::kill(-impl_->pid, SIGTERM);
        ::kill(impl_->pid, SIGTERM);
        if (!wait_for(grace)) {
            ::kill(-impl_->pid, SIGKILL);
            ::kill(impl_->pid, SIGKILL);
            impl_->reap(0);
        }
    }
    return impl_->exit_status().value_or(-1);
}

std::string child_process::output() {
    if (!impl_) return {};
    // Once the process has exited, its output is complete when the reader has drained the pipe;
    // wait a little for that (a grandchild that keeps the pipe open must not hang us).
    const bool exited = impl_->reap(WNOHANG);
    std::unique_lock<std::mutex> lock(impl_->mutex);
    if (exited && impl_->out_fd >= 0)
        impl_->drained_cv.wait_for(lock, std::chrono::seconds(1), [this] { return impl_->drained; });
    return impl_->output;
}

int free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::system_error(errno, std::generic_category(), "bind");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool wait_for_tcp(int port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (ok) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

} // namespace redispebble::testing
