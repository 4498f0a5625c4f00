// Sans-io multipart/form-data parsing; see include/redispebble/pebble/detail/multipart.hpp.
#include <redispebble/pebble/detail/multipart.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace redispebble::pebble::detail {

namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

/// The value of parameter `key` in a header like `form-data; name="files"; filename="/a"`.
std::string header_param(std::string_view v, std::string_view key) {
    std::size_t pos = 0;
    while (pos < v.size()) {
        auto semi = v.find(';', pos);
        if (semi == std::string_view::npos) return {};
        pos = semi + 1;
        auto rest = trim(v.substr(pos));
        auto eq = rest.find('=');
        if (eq == std::string_view::npos) return {};
        if (lower(trim(rest.substr(0, eq))) != key) continue;
        auto val = rest.substr(eq + 1);
        if (!val.empty() && val.front() == '"') {
            std::string out;
            for (std::size_t i = 1; i < val.size(); ++i) {
                if (val[i] == '\\' && i + 1 < val.size()) out += val[++i];
                else if (val[i] == '"') break;
                else out += val[i];
            }
            return out;
        }
        auto end = val.find(';');
        return std::string(trim(val.substr(0, end)));
    }
    return {};
}

} // namespace

std::string multipart_boundary(std::string_view content_type) {
    auto mt = lower(trim(content_type.substr(0, content_type.find(';'))));
    if (mt.rfind("multipart/", 0) != 0) return {};
    return header_param(content_type, "boundary");
}

std::string escape_quotes(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
    }
    return out;
}

multipart_parser::multipart_parser(std::string boundary)
    : dash_boundary_("--" + boundary), delimiter_("\r\n--" + boundary) {}

bool multipart_parser::fail(std::string why) {
    state_ = state::failed;
    error_ = std::move(why);
    return false;
}

namespace {

/// The first occurrence of `needle` in `hay` (glibc's memmem: two-way, vectorised), npos if none.
std::size_t find_in(std::string_view hay, std::string_view needle) noexcept {
    const void* p = ::memmem(hay.data(), hay.size(), needle.data(), needle.size());
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - hay.data()) : std::string_view::npos;
}

} // namespace

void multipart_parser::emit(std::string_view s) {
    if (!s.empty() && on_data) on_data(std::span<const char>(s.data(), s.size()));
}

bool multipart_parser::body(std::string_view& data) {
    const std::size_t d = delimiter_.size();
    if (!buf_.empty()) {
        // buf_ (shorter than the delimiter) may hold the start of one: look across the seam.
        std::string seam = buf_;
        seam.append(data.substr(0, d - 1));
        const auto from_data = seam.size() - buf_.size();
        if (auto p = find_in(seam, delimiter_); p != std::string_view::npos) {
            emit(std::string_view(seam).substr(0, p));
            data.remove_prefix(p + d - buf_.size());
            buf_.clear();
            return true;
        }
        if (from_data < d - 1) {
            // All of data is in the seam and a delimiter may still begin in its tail.
            const std::size_t keep = std::min(seam.size(), d - 1);
            emit(std::string_view(seam).substr(0, seam.size() - keep));
            buf_.assign(seam, seam.size() - keep, keep);
            data = {};
            return false;
        }
        // No delimiter begins in buf_ (it would have ended inside the seam).
        emit(buf_);
        buf_.clear();
    }
    // The common case: body bytes go to on_data straight from the caller's buffer.
    if (auto p = find_in(data, delimiter_); p != std::string_view::npos) {
        emit(data.substr(0, p));
        data.remove_prefix(p + d);
        return true;
    }
    const std::size_t keep = std::min(data.size(), d - 1);
    emit(data.substr(0, data.size() - keep));
    buf_.assign(data.substr(data.size() - keep));
    data = {};
    return false;
}

bool multipart_parser::feed(std::string_view data) {
    std::string carry;  // what followed a part's headers in buf_, handed to body()
    for (;;) {
        switch (state_) {
        case state::body:
            if (!body(data)) return true;
            if (on_part_end) on_part_end();
            state_ = state::after_delimiter;
            continue;
        case state::done:
            buf_.clear();
            return true;
        case state::failed:
            return false;
        default:
            break;
        }
        // The preamble, a delimiter line and part headers are small: they are parsed from buf_.
        buf_.append(data);
        data = {};
        switch (state_) {
        case state::preamble: {
            // The first delimiter may start the body (no CRLF before it).
            auto p = find_in(buf_, dash_boundary_);
            if (p == std::string::npos) {
                if (buf_.size() > 64 * 1024) return fail("no multipart boundary in the body");
                return true;
            }
            buf_.erase(0, p + dash_boundary_.size());
            state_ = state::after_delimiter;
            break;
        }
        case state::after_delimiter:
            if (buf_.size() < 2) return true;
            if (buf_.compare(0, 2, "--") == 0) {
                state_ = state::done;
                buf_.clear();
                return true;
            }
            if (buf_.compare(0, 2, "\r\n") != 0) return fail("bad multipart delimiter line");
            buf_.erase(0, 2);
            state_ = state::headers;
            break;
        case state::headers: {
            auto end = find_in(std::string_view(buf_).substr(0, std::min(buf_.size(), max_headers + 4)), "\r\n\r\n");
            if (end == std::string::npos) {
                if (buf_.size() >= max_headers + 4) return fail("multipart part headers too long");
                return true;
            }
            part_header h;
            std::string_view hs(buf_.data(), end);
            std::size_t pos = 0;
            while (pos <= hs.size()) {
                auto nl = hs.find("\r\n", pos);
                auto line = hs.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
                auto colon = line.find(':');
                if (colon != std::string_view::npos) {
                    auto key = lower(trim(line.substr(0, colon)));
                    auto value = trim(line.substr(colon + 1));
                    if (key == "content-disposition") {
                        h.name = header_param(value, "name");
                        h.filename = header_param(value, "filename");
                    } else if (key == "content-type") {
                        h.content_type = std::string(value);
                    }
                }
                if (nl == std::string_view::npos) break;
                pos = nl + 2;
            }
            // What follows the headers is body: body() takes it from `carry`, not from buf_.
            carry.assign(buf_, end + 4);
            buf_.clear();
            data = carry;
            state_ = state::body;
            if (on_part) on_part(h);
            break;
        }
        default:
            break;
        }
    }
}

} // namespace redispebble::pebble::detail
