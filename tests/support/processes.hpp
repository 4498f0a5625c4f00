// Test support: the processes on this machine, read from /proc (the exporter, Redis and Sentinel
// the tests start through Pebble, and the services the test server runs).
#ifndef REDISPEBBLE_TESTS_SUPPORT_PROCESSES_HPP
#define REDISPEBBLE_TESTS_SUPPORT_PROCESSES_HPP

#include <functional>
#include <string>

namespace redispebble::test {

/// Calls `each` with the pid and the argv (joined by spaces) of every process but zombies. A
/// process that exits while it is read is skipped.
void each_process(const std::function<void(int pid, const std::string& argv)>& each);

/// The pid of a running (not zombie) process whose argv, joined by spaces, contains `needle`; 0 if none.
int pid_with_argv(const std::string& needle);

/// True once `pid` has exited: a zombie not yet reaped by its parent, or gone.
bool process_exited(int pid);

} // namespace redispebble::test

#endif
