// Sans-io multipart/form-data parsing; see include/redispebble/pebble/detail/multipart.hpp.
#include <redispebble/pebble/detail/multipart.hpp>

#include <algorithm>
#include <cctype>

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

bool multipart_parser::feed(std::string_view data) {
    if (state_ == state::failed) return false;
    buf_.append(data);
    for (;;) {
        switch (state_) {
        case state::preamble: {
            // The first delimiter may start the body (no CRLF before it).
            auto p = buf_.find(dash_boundary_);
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
            auto end = buf_.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (buf_.size() > 16 * 1024) return fail("multipart part headers too long");
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
            buf_.erase(0, end + 4);
            state_ = state::body;
            if (on_part) on_part(h);
            break;
        }
        case state::body: {
            auto p = buf_.find(delimiter_);
            if (p == std::string::npos) {
                // Keep what could be the start of a delimiter; emit the rest.
                std::size_t keep = std::min(buf_.size(), delimiter_.size() - 1);
                std::size_t emit = buf_.size() - keep;
                if (emit > 0) {
                    if (on_data) on_data(std::span<const char>(buf_.data(), emit));
                    buf_.erase(0, emit);
                }
                return true;
            }
            if (p > 0 && on_data) on_data(std::span<const char>(buf_.data(), p));
            buf_.erase(0, p + delimiter_.size());
            if (on_part_end) on_part_end();
            state_ = state::after_delimiter;
            break;
        }
        case state::done:
            buf_.clear();
            return true;
        case state::failed:
            return false;
        }
    }
}

} // namespace redispebble::pebble::detail
