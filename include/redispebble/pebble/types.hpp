// Values the Pebble client returns: plain aggregates mirroring Pebble's JSON (Go's client types).
#ifndef REDISPEBBLE_PEBBLE_TYPES_HPP
#define REDISPEBBLE_PEBBLE_TYPES_HPP

#include <redispebble/pebble/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redispebble::pebble {

/// `GET /v1/system-info`.
struct system_info {
    std::string boot_id{};
    std::string version{};
};

/// One entry of `GET /v1/services`.
struct service_info {
    std::string name{};
    std::string startup{};        ///< "enabled" | "disabled"
    std::string current{};        ///< "active" | "inactive" | "backoff" | "error"
    std::string current_since{};  ///< RFC 3339, empty when absent
};

/// `progress` of a task.
struct task_progress {
    std::string label{};
    std::int64_t done = 0;
    std::int64_t total = 0;
};

/// A task of a change.
struct task {
    std::string id{};
    std::string kind{};
    std::string summary{};
    std::string status{};
    std::vector<std::string> log{};
    task_progress progress{};
    std::string spawn_time{};
    std::string ready_time{};
    std::string data{};  ///< JSON text of "data" ({"exit-code":0} for exec), empty when absent
};

/// A change (`GET /v1/changes/{id}`).
struct change {
    std::string id{};
    std::string kind{};
    std::string summary{};
    std::string status{};  ///< "Done" | "Doing" | "Error" | "Hold" | "Undone" | ...
    std::vector<task> tasks{};  ///< empty when Pebble omits "tasks"
    bool ready = false;
    std::string err{};
    std::string spawn_time{};
    std::string ready_time{};
    std::string data{};  ///< JSON text, empty when absent

    /// True when the change is ready with status "Error" (or any status other than Done when ready
    /// with an err).
    bool failed() const { return ready && (status == "Error" || !err.empty()); }
};

/// One entry of `GET /v1/checks`.
struct check_info {
    std::string name{};
    std::string level{};    ///< "alive" | "ready" | "" (unset)
    std::string startup{};  ///< "enabled" | "disabled"
    std::string status{};   ///< "up" | "down" | "inactive"
    std::optional<int> successes{};
    int failures = 0;
    int threshold = 0;
    std::string change_id{};
};

/// `POST /v1/checks/refresh`.
struct refresh_check_result {
    check_info info{};
    std::string error{};  ///< the check's failure message, empty when it passed
};

/// One entry of `GET /v1/files?action=list`.
struct file_info {
    std::string path{};
    std::string name{};
    std::string type{};  ///< "file" | "directory" | "symlink" | "socket" | "named-pipe" | "device" | "unknown"
    std::optional<std::int64_t> size{};
    std::string permissions{};  ///< octal, "644"
    std::string last_modified{};
    std::optional<std::uint32_t> user_id{};
    std::string user{};
    std::optional<std::uint32_t> group_id{};
    std::string group{};
};

/// The per-path outcome of push, pull, make_dirs and remove_paths: Pebble reports these inside an
/// HTTP 200, so one bad path does not fail the others.
struct file_result {
    std::string path{};
    error_code ec{};       ///< empty when this path succeeded (not_found, permission_denied, ...)
    diagnostics diag{};    ///< Pebble's kind and message for this path
    bool ok() const { return !ec; }
};

/// A notice (`GET /v1/notices`).
struct notice {
    std::string id{};
    std::optional<std::uint32_t> user_id{};
    std::string type{};
    std::string key{};
    std::string first_occurred{};
    std::string last_occurred{};
    std::string last_repeated{};
    int occurrences = 0;
    std::map<std::string, std::string> last_data{};
    std::string repeat_after{};
    std::string expire_after{};
};

/// One log line (`GET /v1/logs`).
struct log_entry {
    std::string time{};
    std::string service{};
    std::string message{};
};

/// An identity (`GET /v1/identities`); secrets (basic passwords) are never kept.
struct identity {
    std::string name{};
    std::string access{};  ///< "admin" | "read" | "metrics" | "untrusted"
    std::optional<std::uint32_t> local_user_id{};
    bool has_basic = false;
    bool has_cert = false;
};

} // namespace redispebble::pebble

#endif
