// The multipart/form-data reader of GET /v1/files?action=read. Input: the Content-Type header value,
// a newline, then the body. Properties: never crashes; the events (part headers, each part's data,
// part ends, done, failed) are the same whether the body arrives in one piece or byte by byte.
#include "fuzz_target.hpp"

#include <redispebble/pebble/detail/multipart.hpp>

#include <string>
#include <vector>

namespace {

struct events {
    std::vector<std::string> log;  // "part name|filename|type", "data <bytes>", "end"
    bool done = false;
    bool failed = false;
    friend bool operator==(const events&, const events&) = default;
};

events run(const std::string& boundary, std::string_view body, std::size_t chunk) {
    using redispebble::pebble::detail::multipart_parser;
    events ev;
    multipart_parser p(boundary);
    p.on_part = [&](const auto& h) { ev.log.push_back("part " + h.name + "|" + h.filename + "|" + h.content_type); };
    p.on_data = [&](std::span<const char> d) {
        if (ev.log.empty() || ev.log.back().rfind("data ", 0) != 0) ev.log.emplace_back("data ");
        ev.log.back().append(d.data(), d.size());
    };
    p.on_part_end = [&] { ev.log.emplace_back("end"); };
    bool ok = true;
    for (std::size_t i = 0; i < body.size() && ok; i += chunk) ok = p.feed(body.substr(i, chunk));
    if (body.empty()) ok = p.feed({});
    FUZZ_CHECK(ok == p.error().empty());
    ev.done = p.done();
    ev.failed = !ok;
    FUZZ_CHECK(!(ev.done && ev.failed));
    return ev;
}

} // namespace

REDISPEBBLE_FUZZ_TARGET(multipart) {
    using namespace redispebble::pebble::detail;
    const auto text = redispebble::fuzz::as_text(data, size);
    const auto nl = text.find('\n');
    const auto content_type = text.substr(0, nl);
    const auto body = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const std::string found = multipart_boundary(content_type);
    const std::string boundary = found.empty() ? std::string(1, 'b') : found;
    (void)escape_quotes(body);
    const auto whole = run(boundary, body, body.size() + 1);
    // The limits (64 KiB preamble, 16 KiB headers) apply to what is buffered, so only small bodies
    // must give the same events whatever the chunking.
    if (body.size() < 16 * 1024) {
        FUZZ_CHECK(run(boundary, body, 1) == whole);
        FUZZ_CHECK(run(boundary, body, 7) == whole);
    }
    return 0;
}
