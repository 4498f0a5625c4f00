#include "support/pebble_daemon.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace redispebble::test {

namespace {

// True when a client can connect to the Unix socket at `path`: Pebble creates the socket file a
// moment before it accepts, so the file's existence alone is a race.
bool accepts_connections(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof(addr.sun_path)) return false;
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

} // namespace

std::optional<std::string> pebble_bin() {
    const char* bin = std::getenv("PEBBLE_BIN");
    if (!bin || !*bin) return std::nullopt;
    if (::access(bin, X_OK) != 0) return std::nullopt;
    return std::string(bin);
}

pebble_daemon::pebble_daemon(const std::string& binary, const std::map<std::string, std::string>& layer_files)
    : binary_(binary) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "redispebble-pebble-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // services run as other users must reach their directories below
    socket_ = dir_ + "/.pebble.socket";
    for (const auto& [name, yaml] : layer_files) {
        const auto path = std::filesystem::path(dir_) / "layers" / name;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << yaml;
    }
    try {
        start();
    } catch (...) {
        process_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw;
    }
}

pebble_daemon::~pebble_daemon() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void pebble_daemon::start() {
    testing::process_options opts;
    opts.argv = {binary_, "run"};
    opts.environment = {{"PEBBLE", dir_}};
    process_ = std::make_unique<testing::child_process>(opts);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!accepts_connections(socket_)) {
        if (std::chrono::steady_clock::now() > deadline || !process_->running())
            throw std::runtime_error("pebble did not start: " + process_->output());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void pebble_daemon::stop() {
    if (!process_) return;
    process_->terminate(std::chrono::seconds(10));
    process_.reset();
    std::error_code ec;
    std::filesystem::remove(socket_, ec);
}

std::string pebble_daemon::output() { return process_ ? process_->output() : std::string(); }

} // namespace redispebble::test
