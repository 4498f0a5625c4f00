// Sans-io multipart/form-data pieces used by push and pull (not public API).
#ifndef REDISPEBBLE_PEBBLE_DETAIL_MULTIPART_HPP
#define REDISPEBBLE_PEBBLE_DETAIL_MULTIPART_HPP

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace redispebble::pebble::detail {

/// The headers of one part that matter here.
struct part_header {
    std::string name;      ///< Content-Disposition name
    std::string filename;  ///< Content-Disposition filename (unescaped), empty when absent
    std::string content_type;
};

/// The boundary parameter of a `multipart/form-data; boundary=...` Content-Type, "" when none.
std::string multipart_boundary(std::string_view content_type);

/// Quotes a value for a Content-Disposition parameter the way Go's mime/multipart does.
std::string escape_quotes(std::string_view s);

/// An incremental multipart parser: feed() bytes as they arrive, in pieces of any size. Part bodies
/// go to on_data straight from the piece given to feed() (no copy), except for fewer bytes than the
/// delimiter kept between pieces; memory is bounded by the largest piece plus the boundary.
class multipart_parser {
public:
    std::function<void(const part_header&)> on_part;
    std::function<void(std::span<const char>)> on_data;
    std::function<void()> on_part_end;

    explicit multipart_parser(std::string boundary);

    /// Consumes `data`; false on malformed input (then error() says why).
    bool feed(std::string_view data);
    /// True once the closing delimiter was seen.
    bool done() const noexcept { return state_ == state::done; }
    const std::string& error() const noexcept { return error_; }

private:
    enum class state { preamble, after_delimiter, headers, body, done, failed };
    /// Longest headers of one part (bytes before the blank line).
    static constexpr std::size_t max_headers = 16 * 1024;
    bool fail(std::string why);
    /// Body bytes from `data` (after what buf_ kept) to on_data up to the next delimiter. True when
    /// the delimiter was found (`data` is advanced past it); false when all of `data` was used.
    bool body(std::string_view& data);
    void emit(std::string_view s);
    std::string dash_boundary_;  // "--" + boundary
    std::string delimiter_;      // "\r\n--" + boundary
    std::string buf_;
    state state_ = state::preamble;
    std::string error_;
};

} // namespace redispebble::pebble::detail

#endif
