// Test support: one HTTP request to Pebble's (or the test server's) Unix socket, and a tiny HTTP
// server on 127.0.0.1 for http checks. Both with deadlines.
#ifndef REDISPEBBLE_TESTS_SUPPORT_UNIX_HTTP_HPP
#define REDISPEBBLE_TESTS_SUPPORT_UNIX_HTTP_HPP

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace redispebble::test {

struct http_answer {
    unsigned status = 0;     ///< 0 when there was no answer (connection failed, timed out)
    std::string body;
    /// The body parsed as JSON (null when it is not JSON).
    boost::json::value json() const;
    /// json()["result"].
    boost::json::value result() const;
};

/// `method target` with `body` (JSON) on the Unix socket; one connection, `timeout` for all of it.
http_answer unix_http(const std::string& socket, const std::string& method, const std::string& target,
                      const std::string& body = "", std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// An HTTP/1.1 server on 127.0.0.1:<port()> answering every request with `status` and body "status N"
/// (port 0 is taken from the system). Runs on its own thread until destroyed.
class tiny_http_server {
public:
    tiny_http_server();
    ~tiny_http_server();
    int port() const noexcept;
    std::atomic<unsigned> status{200};
    std::atomic<int> requests{0};

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace redispebble::test

#endif
