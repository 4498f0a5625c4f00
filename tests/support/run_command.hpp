// Test support: run a program to completion and capture its output.
#ifndef REDISPEBBLE_TESTS_SUPPORT_RUN_COMMAND_HPP
#define REDISPEBBLE_TESTS_SUPPORT_RUN_COMMAND_HPP

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace redispebble::test {

struct command_result {
    int exit_code = -1;   ///< exit status, 128+signal, or -1 when it timed out and was killed
    std::string out;      ///< standard output
    std::string err;      ///< standard error
};

/// Runs argv (argv[0] a path) with extra environment and `input` on stdin; kills it after `timeout`.
command_result run_command(const std::vector<std::string>& argv, const std::string& input = {},
                           const std::map<std::string, std::string>& env = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Checks (Catch2 CHECKs, so a test goes on after a failure) that `r` exited with `exit_code`, that
/// its standard output holds each of `shown`, and that neither its standard output nor its standard
/// error holds any of `hidden` (passwords, digests). A failure names the text and shows both outputs.
void check_output(const command_result& r, int exit_code, const std::vector<std::string>& shown,
                  const std::vector<std::string>& hidden = {});

/// A fresh temporary directory, removed with everything in it on destruction.
struct temp_dir {
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    /// Writes `content` to path/name and returns the full path.
    std::string write(const std::string& name, const std::string& content) const;

    std::string path;
};

} // namespace redispebble::test

#endif
