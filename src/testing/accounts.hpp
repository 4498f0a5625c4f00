// Thread-safe account look-ups (getpwnam_r and friends), shared by the test server and the child
// process runner: the non-_r functions return one static buffer that the threads of several
// servers in one process would overwrite under each other (a data race under ThreadSanitizer).
// Internal: not installed.
#ifndef REDISPEBBLE_SRC_ACCOUNTS_HPP
#define REDISPEBBLE_SRC_ACCOUNTS_HPP

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace redispebble::accounts {

namespace detail {
// Calls f(buf, size) until the buffer is large enough; f returns the errno-style code.
template <class F>
bool with_buffer(F&& f) {
    long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 1024);
    for (;;) {
        const int rc = f(buf.data(), buf.size());
        if (rc != ERANGE) return rc == 0;
        if (buf.size() >= (std::size_t{1} << 24)) return false;
        buf.resize(buf.size() * 2);
    }
}
} // namespace detail

/// The uid and primary gid of user `name`; nullopt when there is no such user.
inline std::optional<std::pair<uid_t, gid_t>> user(const std::string& name) {
    std::optional<std::pair<uid_t, gid_t>> out;
    detail::with_buffer([&](char* b, std::size_t n) {
        passwd pw{};
        passwd* res = nullptr;
        const int rc = ::getpwnam_r(name.c_str(), &pw, b, n, &res);
        if (rc == 0 && res) out = std::pair{pw.pw_uid, pw.pw_gid};
        return rc;
    });
    return out;
}

/// The gid of group `name`; nullopt when there is no such group.
inline std::optional<gid_t> group(const std::string& name) {
    std::optional<gid_t> out;
    detail::with_buffer([&](char* b, std::size_t n) {
        ::group gr{};
        ::group* res = nullptr;
        const int rc = ::getgrnam_r(name.c_str(), &gr, b, n, &res);
        if (rc == 0 && res) out = gr.gr_gid;
        return rc;
    });
    return out;
}

/// The name and primary gid of user `uid`; nullopt when unknown.
inline std::optional<std::pair<std::string, gid_t>> user_by_id(uid_t uid) {
    std::optional<std::pair<std::string, gid_t>> out;
    detail::with_buffer([&](char* b, std::size_t n) {
        passwd pw{};
        passwd* res = nullptr;
        const int rc = ::getpwuid_r(uid, &pw, b, n, &res);
        if (rc == 0 && res) out = std::pair{std::string(pw.pw_name), pw.pw_gid};
        return rc;
    });
    return out;
}

/// The name of user `uid`; nullopt when unknown.
inline std::optional<std::string> user_name(uid_t uid) {
    auto u = user_by_id(uid);
    return u ? std::optional<std::string>(std::move(u->first)) : std::nullopt;
}

/// The name of group `gid`; nullopt when unknown.
inline std::optional<std::string> group_name(gid_t gid) {
    std::optional<std::string> out;
    detail::with_buffer([&](char* b, std::size_t n) {
        ::group gr{};
        ::group* res = nullptr;
        const int rc = ::getgrgid_r(gid, &gr, b, n, &res);
        if (rc == 0 && res) out = std::string(gr.gr_name);
        return rc;
    });
    return out;
}

} // namespace redispebble::accounts

#endif
