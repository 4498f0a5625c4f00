#include "support/transcripts.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace redispebble::test {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string transcripts_dir() {
    if (const char* env = std::getenv("REDISPEBBLE_TRANSCRIPTS"); env && *env) return env;
    return REDISPEBBLE_TRANSCRIPTS_DIR;
}

std::vector<std::string> transcript_names() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(transcripts_dir()))
        if (e.path().extension() == ".http") names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    if (names.empty()) throw std::runtime_error("no transcripts found in " + transcripts_dir());
    return names;
}

std::vector<exchange> load_transcript(const std::string& name) {
    std::string raw = read_file(transcripts_dir() + "/" + name);
    const std::string lead = "### request\n", sep_req = "\n### request\n", sep_resp = "\n### response\n";
    if (raw.compare(0, lead.size(), lead) == 0) raw.erase(0, lead.size());
    std::vector<std::string> pieces;
    std::size_t pos = 0;
    for (;;) {
        std::size_t next = raw.find(sep_req, pos);
        pieces.push_back(raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) break;
        pos = next + sep_req.size();
    }
    std::vector<exchange> out;
    for (const auto& p : pieces) {
        std::size_t at = p.find(sep_resp);
        if (at == std::string::npos) throw std::runtime_error(name + ": an exchange without a response");
        out.push_back({p.substr(0, at), p.substr(at + sep_resp.size())});
    }
    return out;
}

exchange load_single(const std::string& name) {
    auto all = load_transcript(name);
    if (all.size() != 1) throw std::runtime_error(name + ": expected one exchange");
    return all.front();
}

std::string http_message::header(const std::string& lower_name) const {
    for (const auto& [k, v] : headers)
        if (k == lower_name) return v;
    return {};
}

std::string http_message::method() const { return start_line.substr(0, start_line.find(' ')); }

std::string http_message::target() const {
    auto a = start_line.find(' ');
    auto b = start_line.find(' ', a + 1);
    return start_line.substr(a + 1, b - a - 1);
}

int http_message::status() const {
    auto a = start_line.find(' ');
    return std::stoi(start_line.substr(a + 1, 3));
}

http_message parse_http(const std::string& raw) {
    http_message m;
    std::size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) throw std::runtime_error("HTTP message without a blank line");
    std::string head = raw.substr(0, head_end);
    std::string rest = raw.substr(head_end + 4);
    std::size_t eol = head.find("\r\n");
    m.start_line = head.substr(0, eol);
    while (eol != std::string::npos) {
        std::size_t start = eol + 2;
        eol = head.find("\r\n", start);
        std::string line = head.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
        auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        m.headers.emplace_back(name, value);
    }
    if (m.header("transfer-encoding") == "chunked") {
        std::string body;
        std::size_t p = 0;
        for (;;) {
            std::size_t le = rest.find("\r\n", p);
            std::size_t n = std::stoul(rest.substr(p, le - p), nullptr, 16);
            p = le + 2;
            if (n == 0) break;
            body += rest.substr(p, n);
            p += n + 2;
        }
        m.body = body;
    } else {
        m.body = rest;
    }
    return m;
}

} // namespace redispebble::test
