// Test support: see replay_server.hpp.
#include "support/replay_server.hpp"
#include "support/raw_socket.hpp"
#include "support/transcripts.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace redispebble::test {

std::vector<replay_step> replay_server::steps_of(const std::string& transcript_name) {
    std::vector<replay_step> steps;
    for (auto& ex : load_transcript(transcript_name)) steps.push_back({ex.response, replay_step::action::respond});
    return steps;
}

replay_server::replay_server(std::vector<replay_step> steps, bool repeat_last)
    : steps_(std::move(steps)), repeat_last_(repeat_last) {
    char tmpl[] = "/tmp/rp-replay-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    socket_path_ = dir_ + "/pebble.socket";
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listen_fd_, 8) != 0)
        throw std::runtime_error("cannot listen on " + socket_path_);
    thread_ = std::thread([this] { run(); });
}

replay_server::~replay_server() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    int c = conn_fd_.load();
    if (c >= 0) ::shutdown(c, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> replay_server::requests() const {
    std::lock_guard<std::mutex> g(mutex_);
    return requests_;
}

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

bool replay_server::read_request(int fd, std::string& pending, std::string& out) {
    auto fill = [&]() {
        char buf[65536];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        pending.append(buf, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t head_end;
    while ((head_end = pending.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return false;
    auto head = lower(pending.substr(0, head_end));
    std::size_t total = head_end + 4;
    if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos) {
        total += std::strtoull(head.c_str() + p + 17, nullptr, 10);
        while (pending.size() < total)
            if (!fill()) return false;
    } else if (head.find("transfer-encoding: chunked") != std::string::npos) {
        // Walk the chunks until the last one.
        std::size_t pos = total;
        for (;;) {
            std::size_t eol;
            while ((eol = pending.find("\r\n", pos)) == std::string::npos)
                if (!fill()) return false;
            auto size = std::strtoull(pending.c_str() + pos, nullptr, 16);
            pos = eol + 2 + size + 2;
            while (pending.size() < pos)
                if (!fill()) return false;
            if (size == 0) break;
        }
        total = pos;
    }
    out = pending.substr(0, total);
    pending.erase(0, total);
    return true;
}

void replay_server::run() {
    std::size_t next = 0;
    while (!stop_) {
        if (next >= steps_.size() && !(repeat_last_ && !steps_.empty())) break;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;
        ++connections_;
        conn_fd_ = fd;
        std::string pending;
        bool open = true;
        while (open && !stop_) {
            std::string req;
            if (!read_request(fd, pending, req)) break;
            {
                std::lock_guard<std::mutex> g(mutex_);
                requests_.push_back(req);
            }
            if (next >= steps_.size() && !(repeat_last_ && !steps_.empty())) break;
            const auto& s = steps_[std::min(next, steps_.size() - 1)];
            ++next;
            using A = replay_step::action;
            switch (s.what) {
            case A::respond: open = write_all(fd, s.response); break;
            case A::respond_and_close: write_all(fd, s.response); open = false; break;
            case A::close: open = false; break;
            case A::half_then_close: write_all(fd, std::string_view(s.response).substr(0, s.response.size() / 2)); open = false; break;
            case A::half_then_silent:
                write_all(fd, std::string_view(s.response).substr(0, s.response.size() / 2));
                [[fallthrough]];
            case A::silent: {
                char c;
                while (!stop_ && ::recv(fd, &c, 1, 0) > 0) {}
                open = false;
                break;
            }
            case A::trickle: {
                const std::size_t piece = (s.response.size() + 7) / 8;
                for (std::size_t off = 0; open && off < s.response.size(); off += piece) {
                    if (off > 0) std::this_thread::sleep_for(s.pause);
                    open = !stop_ && write_all(fd, std::string_view(s.response).substr(off, piece));
                }
                break;
            }
            }
        }
        conn_fd_ = -1;
        ::close(fd);
    }
}

} // namespace redispebble::test
