// Test support shared by the real-Redis tests: redis-cli, test certificates, polling.
#ifndef REDISPEBBLE_TESTS_SUPPORT_REDIS_TOOLS_HPP
#define REDISPEBBLE_TESTS_SUPPORT_REDIS_TOOLS_HPP

#include "support/run_command.hpp"

#include <redispebble/secret.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redispebble::test {

inline bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

/// The files make_ca_and_certificate writes, by name, and the names (CN) it gives.
struct certificate_files {
    std::string ca_key, ca_cert, ca_name;  ///< the self-signed CA
    std::string key, csr, name, cert;      ///< the certificate it signs
    std::string extensions;                ///< extension lines (printf syntax) of the certificate; "" none
};

/// A self-signed CA and a certificate it signs (RSA 2048, valid 2 days), made by the openssl CLI in
/// `dir`. Throws std::runtime_error naming `what` when openssl fails.
void make_ca_and_certificate(const std::string& dir, const certificate_files& f, const std::string& what);

/// A CA and one server certificate (SANs 127.0.0.1, .2 and .3) made by the openssl CLI in `dir`:
/// ca-cert.pem, server-cert.pem, server-key.pem, under other names than the ones Redis reads, as
/// Juju's resources are. Throws std::runtime_error when openssl fails.
struct test_certificates {
    std::string dir;
    std::map<std::string, secret> resources;  ///< "cert-file", "key-file", "ca-cert-file" -> content
};
test_certificates make_test_certificates(const std::string& dir);

/// redis-cli against ip:port; the password goes in REDISCLI_AUTH (never argv); with `tls_dir`,
/// over TLS trusting its ca-cert.pem and presenting, as client certificate, `client_cert` (a file
/// name in tls_dir, with its key `client_key`; "" presents none).
command_result redis_cli(const std::string& ip, int port, const std::optional<std::string>& password,
                         const std::vector<std::string>& args, const std::string& tls_dir = "",
                         const std::string& client_cert = "server-cert.pem", const std::string& client_key = "server-key.pem");

/// A certificate and key signed by a CA of their own (not the one of make_test_certificates), in
/// `dir`: foreign-cert.pem, foreign-key.pem.
void make_foreign_certificate(const std::string& dir);

/// Polls `ok` every 50 ms until it holds or `timeout` passes; its last answer.
bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace redispebble::test

#endif
