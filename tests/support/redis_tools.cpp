#include "support/redis_tools.hpp"

#include "support/transcripts.hpp"

#include <stdexcept>
#include <thread>

namespace redispebble::test {

void make_ca_and_certificate(const std::string& dir, const certificate_files& f, const std::string& what) {
    std::string script =
        "set -e; cd '" + dir + "';"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + f.ca_key + " -out " + f.ca_cert + " -days 2 -subj /CN=" +
        f.ca_name + " 2>/dev/null;"
        "openssl req -newkey rsa:2048 -nodes -keyout " + f.key + " -out " + f.csr + " -subj /CN=" + f.name +
        " 2>/dev/null;";
    std::string extfile;
    if (!f.extensions.empty()) {
        script += "printf '" + f.extensions + "\\n' > " + f.cert + ".ext;";
        extfile = " -extfile " + f.cert + ".ext";
    }
    script += "openssl x509 -req -in " + f.csr + " -CA " + f.ca_cert + " -CAkey " + f.ca_key +
              " -CAcreateserial -out " + f.cert + " -days 2" + extfile + " 2>/dev/null";
    auto r = run_command({"/bin/sh", "-c", script}, {}, {}, std::chrono::seconds(60));
    if (r.exit_code != 0) throw std::runtime_error("openssl could not make " + what + ": " + r.err);
}

test_certificates make_test_certificates(const std::string& dir) {
    make_ca_and_certificate(dir,
                            {"ca-key.pem", "ca-cert.pem", "test-ca", "server-key.pem", "server.csr", "redis",
                             "server-cert.pem", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3"},
                            "the test certificates");
    test_certificates c;
    c.dir = dir;
    c.resources["cert-file"] = secret(read_file(dir + "/server-cert.pem"));
    c.resources["key-file"] = secret(read_file(dir + "/server-key.pem"));
    c.resources["ca-cert-file"] = secret(read_file(dir + "/ca-cert.pem"));
    return c;
}

void make_foreign_certificate(const std::string& dir) {
    make_ca_and_certificate(dir,
                            {"foreign-ca-key.pem", "foreign-ca.pem", "foreign-ca", "foreign-key.pem", "foreign.csr",
                             "intruder", "foreign-cert.pem", ""},
                            "the foreign certificate");
}

command_result redis_cli(const std::string& ip, int port, const std::optional<std::string>& password,
                         const std::vector<std::string>& args, const std::string& tls_dir, const std::string& client_cert,
                         const std::string& client_key) {
    std::vector<std::string> argv{"/usr/bin/redis-cli", "-h", ip, "-p", std::to_string(port), "--no-auth-warning"};
    if (!tls_dir.empty()) {
        for (const std::string& a : std::vector<std::string>{"--tls", "--cacert", tls_dir + "/ca-cert.pem"})
            argv.push_back(a);
        if (!client_cert.empty())
            for (const std::string& a :
                 std::vector<std::string>{"--cert", tls_dir + "/" + client_cert, "--key", tls_dir + "/" + client_key})
                argv.push_back(a);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    std::map<std::string, std::string> env;
    if (password) env["REDISCLI_AUTH"] = *password;
    return run_command(argv, {}, env, std::chrono::seconds(10));
}

bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ok();
}

} // namespace redispebble::test
