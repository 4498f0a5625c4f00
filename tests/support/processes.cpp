#include "support/processes.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace redispebble::test {

namespace {

// A process may exit while its /proc files are read: libstdc++ then throws from the stream
// buffer ("basic_filebuf::underflow error reading the file: No such process", seen once under
// ASan while the exporter was restarted). operator<< of a stream buffer catches that and reads
// what there was, so such a process reads as empty instead of failing the test.
std::string read_proc(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The state letter of a /proc/PID/stat text (after the command's closing parenthesis) is Z.
bool zombie(const std::string& stat) {
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

} // namespace

void each_process(const std::function<void(int pid, const std::string& argv)>& each) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string argv = read_proc(e.path() / "cmdline");
        std::replace(argv.begin(), argv.end(), '\0', ' ');
        const std::string st = read_proc(e.path() / "stat");
        if (st.empty() || zombie(st)) continue;  // gone, or exited and not reaped
        each(std::stoi(name), argv);
    }
}

int pid_with_argv(const std::string& needle) {
    int found = 0;
    each_process([&](int pid, const std::string& argv) {
        if (!found && argv.find(needle) != std::string::npos) found = pid;
    });
    return found;
}

bool process_exited(int pid) {
    const std::string st = read_proc("/proc/" + std::to_string(pid) + "/stat");
    return st.empty() || zombie(st);
}

} // namespace redispebble::test
