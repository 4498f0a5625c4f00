// Replays the committed corpora through every harness without libFuzzer (the normal build).
// Usage: redispebble_fuzz_replay <corpus root> [harness...]; with no harness named, all of them.
// Runs every regular file of <root>/<harness>/ (sorted by name) through the harness; a broken
// property aborts (the CTest test fails and names the file just printed).
#include "fuzz_target.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace redispebble::fuzz {

namespace {
std::map<std::string, target_fn>& registry() {
    static std::map<std::string, target_fn> r;
    return r;
}
} // namespace

bool register_target(const char* name, target_fn fn) {
    registry().emplace(name, fn);
    return true;
}

} // namespace redispebble::fuzz

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    using redispebble::fuzz::registry;
    if (argc < 2) {
        std::cerr << "usage: redispebble_fuzz_replay <corpus root> [harness...]\nharnesses:";
        for (auto& [name, fn] : registry()) std::cerr << ' ' << name;
        std::cerr << '\n';
        return 2;
    }
    const fs::path root = argv[1];
    std::vector<std::string> names(argv + 2, argv + argc);
    if (names.empty())
        for (auto& [name, fn] : registry()) names.push_back(name);
    int failures = 0;
    for (const auto& name : names) {
        auto it = registry().find(name);
        if (it == registry().end()) {
            std::cerr << "unknown harness \"" << name << "\"\n";
            ++failures;
            continue;
        }
        const fs::path dir = root / name;
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
            std::cerr << name << ": no corpus directory " << dir << '\n';
            ++failures;
            continue;
        }
        std::vector<fs::path> files;
        for (auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto& f : files) {
            std::cerr << name << ": " << f.filename().string() << '\n';
            std::ifstream in(f, std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            it->second(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        }
        std::cout << name << ": " << files.size() << " inputs replayed\n";
        if (files.empty()) {
            std::cerr << name << ": the corpus is empty\n";
            ++failures;
        }
    }
    return failures ? 1 : 0;
}
