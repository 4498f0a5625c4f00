// Test support: the recorded Pebble exchanges in ../shared/pebble-transcripts.
#ifndef REDISPEBBLE_TESTS_SUPPORT_TRANSCRIPTS_HPP
#define REDISPEBBLE_TESTS_SUPPORT_TRANSCRIPTS_HPP

#include <map>
#include <string>
#include <vector>

namespace redispebble::test {

/// One raw HTTP request and its raw response, byte for byte as recorded.
struct exchange {
    std::string request;
    std::string response;
};

/// A split HTTP message: start line, headers (names lower-cased, in order), body (de-chunked when
/// the message was chunked; raw otherwise).
struct http_message {
    std::string start_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string header(const std::string& lower_name) const; ///< "" when absent
    std::string method() const;  ///< requests: "GET"
    std::string target() const;  ///< requests: "/v1/plan?format=yaml"
    int status() const;          ///< responses: 200
};

/// The directory holding the transcripts (REDISPEBBLE_TRANSCRIPTS_DIR, or $REDISPEBBLE_TRANSCRIPTS).
std::string transcripts_dir();
/// Every *.http file name in it, sorted.
std::vector<std::string> transcript_names();
/// The exchanges of one file ("05-layers-add-new-label.http"); one for most files, seven for 90.
std::vector<exchange> load_transcript(const std::string& name);
/// The single exchange of a one-exchange file (throws when there are several).
exchange load_single(const std::string& name);
/// Splits a raw HTTP message (works for requests and responses; a 101 response keeps whatever
/// follows the head as its body).
http_message parse_http(const std::string& raw);
/// Reads a whole file in binary mode (throws std::runtime_error naming it when it cannot).
std::string read_file(const std::string& path);

} // namespace redispebble::test

#endif
