// Thread-safe account look-ups (getpwnam_r and friends), shared by the test server and the child
// process runner: the non-_r functions return one static buffer that the threads of several
// servers in one process would overwrite under each other (a data race under ThreadSanitizer).
// Internal: not installed.
#ifndef REDISPEBBLE_SRC_ACCOUNTS_HPP
#define REDISPEBBLE_SRC_ACCOUNTS_HPP

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
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
// Names by id, as read from one account database file (/etc/passwd or /etc/group). A file listing
// names each entry's owner, and each getpwuid_r/getgrgid_r reads and parses the file again (about
// ten system calls: nscd probes, open, read, close), which was a fifth of the test servers' CPU for
// a unit's reconcile. The cache is dropped whenever the file changes (inode, size, modification or
// change time), so a user or group added while a server runs is seen as Pebble, which looks it up
// on each request, sees it. Only answers are kept (a name, or "no such id"): a look-up that failed
// (EMFILE, EIO, ...) is asked again next time. Shared by every server in the process.
struct name_cache {
    /// What a look-up gives: whether it got an answer, and the name (nullopt: no such id).
    struct answer {
        bool answered = false;
        std::optional<std::string> name;
    };

    std::mutex m;
    bool valid = false;
    struct stat key {};
    std::unordered_map<unsigned, std::optional<std::string>> names;

    template <class Lookup>
    std::optional<std::string> get(const char* file, unsigned id, Lookup&& lookup) {
        struct stat now {};
        const bool known = ::stat(file, &now) == 0;
        std::lock_guard<std::mutex> lock(m);
        if (!known || !valid || now.st_ino != key.st_ino || now.st_size != key.st_size ||
            now.st_mtim.tv_sec != key.st_mtim.tv_sec || now.st_mtim.tv_nsec != key.st_mtim.tv_nsec ||
            now.st_ctim.tv_sec != key.st_ctim.tv_sec || now.st_ctim.tv_nsec != key.st_ctim.tv_nsec) {
            names.clear();
            key = now;
            valid = known;
        }
        if (!valid) return lookup(id).name;  // no file to watch (another NSS source): ask every time
        if (auto it = names.find(id); it != names.end()) return it->second;
        answer a = lookup(id);
        if (a.answered) names.emplace(id, a.name);
        return std::move(a.name);
    }
};

inline name_cache& user_names() {
    static name_cache c;
    return c;
}
inline name_cache& group_names() {
    static name_cache c;
    return c;
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

/// The name of user `uid`; nullopt when unknown (or the look-up failed). Cached while /etc/passwd
/// is unchanged.
inline std::optional<std::string> user_name(uid_t uid) {
    return detail::user_names().get("/etc/passwd", uid, [](unsigned id) {
        detail::name_cache::answer a;
        a.answered = detail::with_buffer([&](char* b, std::size_t n) {
            passwd pw{};
            passwd* res = nullptr;
            const int rc = ::getpwuid_r(static_cast<uid_t>(id), &pw, b, n, &res);
            if (rc == 0 && res) a.name = std::string(pw.pw_name);
            return rc;
        });
        return a;
    });
}

/// The name of group `gid`; nullopt when unknown (or the look-up failed). Cached while /etc/group
/// is unchanged.
inline std::optional<std::string> group_name(gid_t gid) {
    return detail::group_names().get("/etc/group", gid, [](unsigned id) {
        detail::name_cache::answer a;
        a.answered = detail::with_buffer([&](char* b, std::size_t n) {
            ::group gr{};
            ::group* res = nullptr;
            const int rc = ::getgrgid_r(static_cast<gid_t>(id), &gr, b, n, &res);
            if (rc == 0 && res) a.name = std::string(gr.gr_name);
            return rc;
        });
        return a;
    });
}

} // namespace redispebble::accounts

#endif
