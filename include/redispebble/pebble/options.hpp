// Options of the Pebble client and of each call (Go's client *Options structs).
#ifndef REDISPEBBLE_PEBBLE_OPTIONS_HPP
#define REDISPEBBLE_PEBBLE_OPTIONS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace redispebble::pebble {

using namespace std::chrono_literals;

/// How much a log line matters.
enum class log_level { debug, info, warning };

/// Receives the client's log lines. Never given file contents, environments or passwords.
using log_callback = std::function<void(log_level, std::string_view)>;

/// The client's connection settings.
struct client_options {
    /// Path of Pebble's socket, usually `$PEBBLE/.pebble.socket`. Required.
    std::string socket_path{};
    /// Limit for one HTTP exchange (write the request, read the whole response): one deadline for
    /// the exchange, error::timeout when it passes. A push or pull moves the deadline on with each
    /// piece of the body that moves, so a large file may take longer in all while it keeps moving.
    std::chrono::milliseconds request_timeout{30s};
    /// Limit for connecting to the socket.
    std::chrono::milliseconds connect_timeout{5s};
    /// Longest `?timeout=` slice of one `/wait` request; kept below request_timeout.
    std::chrono::milliseconds wait_slice{10s};
    /// Poll interval when Pebble has no `/wait` endpoint (404 from /wait).
    std::chrono::milliseconds poll_interval{200ms};
    /// Optional sink of log lines (none by default). Called from the thread running the operation:
    /// the client's I/O thread, or (client(options)) the thread of a synchronous call; make it
    /// thread-safe when both happen.
    log_callback logger{};
};

/// `POST /v1/layers`.
struct add_layer_options {
    std::string label{};       ///< required, non-empty
    std::string layer_yaml{};  ///< the layer's YAML
    bool combine = false;    ///< merge into an existing layer of that label
    bool inner = false;      ///< allow inner layers ("d/label")
};

/// `GET /v1/health`.
struct health_options {
    std::string level{};               ///< "", "alive" or "ready"
    std::vector<std::string> names{};  ///< checks, all when empty
};

/// `GET /v1/services`.
struct services_options {
    std::vector<std::string> names{};  ///< all when empty
};

/// `POST /v1/services` start / stop / restart: at least one name.
struct service_options {
    std::vector<std::string> names{};
};

/// `GET /v1/changes`.
struct changes_options {
    std::string select = "in-progress";  ///< "all" | "in-progress" | "ready"
    std::string service{};                 ///< `for=`: only changes affecting this service
};

/// `GET /v1/changes/{id}/wait`.
struct wait_change_options {
    /// Overall deadline of the wait; 0 waits as long as it takes.
    std::chrono::milliseconds timeout{0};
    /// When set, a change that finished with status Error completes with error::change_failed
    /// (diagnostics: the change's err and the failing tasks' logs). The change is still returned.
    bool fail_on_error = false;
};

/// Reads the next bytes of a file to push into the buffer; returns how many (0 at the end).
/// Throwing, or returning more than asked, fails the push with error::local_file_error.
using push_source = std::function<std::size_t(std::span<char>)>;

/// One file of a push. Give either local_path or source (+ size when known).
struct push_file {
    std::string path{};        ///< destination, absolute
    std::string local_path{};  ///< file to stream from
    push_source source{};      ///< or a source callback
    std::optional<std::uint64_t> size{};  ///< size of source's data when known (else chunked)
    bool make_dirs = false;
    std::string permissions{};            ///< 3 or 4 octal digits ("600"), empty: Pebble's default
    std::optional<std::uint32_t> user_id{};
    std::string user{};
    std::optional<std::uint32_t> group_id{};
    std::string group{};

    /// A push of an in-memory string (copied into the source).
    static push_file from_string(std::string path, std::string content);
    /// A push streamed from a local file.
    static push_file from_path(std::string path, std::string local_path);
};

/// `POST /v1/files` (multipart write): several files in one request.
struct push_options {
    std::vector<push_file> files{};
};

/// Receives the bytes of a pulled file, piece by piece.
using pull_sink = std::function<void(std::span<const char>)>;

/// One file of a pull: give local_path (written, replaced) or sink.
struct pull_file {
    std::string path{};        ///< remote, absolute
    std::string local_path{};
    pull_sink sink{};
};

/// `GET /v1/files?action=read`.
struct pull_options {
    std::vector<pull_file> files{};
};

/// `GET /v1/files?action=list`.
struct list_files_options {
    std::string path{};     ///< absolute
    std::string pattern{};  ///< glob on names, optional
    bool itself = false;  ///< list the directory itself, not its entries
};

/// One directory of `POST /v1/files {"action":"make-dirs"}`.
struct make_dir_options {
    std::string path{};  ///< absolute
    bool make_parents = false;
    std::string permissions{};
    std::optional<std::uint32_t> user_id{};
    std::string user{};
    std::optional<std::uint32_t> group_id{};
    std::string group{};
};

/// One path of `POST /v1/files {"action":"remove"}`.
struct remove_path_options {
    std::string path{};  ///< absolute
    bool recursive = false;
};

/// `GET /v1/checks`.
struct checks_options {
    std::string level{};               ///< "", "alive", "ready"
    std::vector<std::string> names{};  ///< all when empty
};

/// `POST /v1/signals`.
struct send_signal_options {
    std::string signal{};                 ///< "SIGHUP"
    std::vector<std::string> services{};  ///< at least one
};

/// `GET /v1/notices`.
struct notices_options {
    std::vector<std::string> types{};
    std::vector<std::string> keys{};
    std::string after{};  ///< RFC 3339, empty: all
    std::optional<std::uint32_t> user_id{};
    std::string users{};  ///< "all" (admin only) or empty
};

/// `POST /v1/notices {"action":"add"}`.
struct add_notice_options {
    std::string type = "custom";
    std::string key{};  ///< required ("example.com/x")
    std::map<std::string, std::string> data{};
    std::string repeat_after{};  ///< Go duration, empty: none
};

/// `GET /v1/logs`.
struct logs_options {
    std::vector<std::string> services{};  ///< all when empty
    int n = 30;                         ///< last n lines; negative: all
};

} // namespace redispebble::pebble

#endif
