// One header for every harness in fuzz/: a harness is written once and built two ways.
//  - libFuzzer (REDISPEBBLE_FUZZ=ON, clang): REDISPEBBLE_FUZZ_TARGET(name) is LLVMFuzzerTestOneInput,
//    one executable per harness (fuzz_<name>).
//  - replay (the normal build, any compiler): every harness is compiled into one executable,
//    redispebble_fuzz_replay, that runs each file of fuzz/corpus/<name>/ through the harness <name>.
// A harness returns 0 and reports a broken property with FUZZ_CHECK, which prints and aborts: under
// libFuzzer that is a finding, in the replay a failed test.
#ifndef REDISPEBBLE_FUZZ_TARGET_HPP
#define REDISPEBBLE_FUZZ_TARGET_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace redispebble::fuzz {

using target_fn = int (*)(const std::uint8_t*, std::size_t);

/// Registers a harness for the replay executable (no-op under libFuzzer).
bool register_target(const char* name, target_fn fn);

[[noreturn]] inline void check_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: fuzz property broken: %s\n", file, line, what);
    std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace redispebble::fuzz

#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) ::redispebble::fuzz::check_failed(#cond, __FILE__, __LINE__);               \
    } while (0)

#ifdef REDISPEBBLE_FUZZ_LIBFUZZER
#define REDISPEBBLE_FUZZ_TARGET(name)                                                             \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
#else
#define REDISPEBBLE_FUZZ_TARGET(name)                                                             \
    static int fuzz_target_##name(const std::uint8_t* data, std::size_t size);                    \
    [[maybe_unused]] static const bool fuzz_registered_##name =                                   \
        ::redispebble::fuzz::register_target(#name, &fuzz_target_##name);                         \
    static int fuzz_target_##name(const std::uint8_t* data, std::size_t size)
#endif

#endif
