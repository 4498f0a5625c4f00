// The C++ blocks of README.md and docs/*.md, compiled into the integration tests
// (tests/doc_snippets.cmake generates their translation unit; tests/integration/test_doc_snippets.cpp
// runs those marked `run`).
#ifndef REDISPEBBLE_TEST_DOC_SNIPPETS_HPP
#define REDISPEBBLE_TEST_DOC_SNIPPETS_HPP

#include "support/run_command.hpp"

#include <redispebble/pebble/client.hpp>
#include <redispebble/testing/server.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

namespace redispebble::test {

/// What a runnable block is given: the members named like its `given:` parameters.
struct doc_snippet_fixture {
    doc_snippet_fixture();
    temp_dir dir;
    testing::pebble_server server;
    /// Options of a client of `server`.
    pebble::client_options opts;
    /// A client of `server` with its own I/O thread.
    pebble::client c;
    /// A unit's inputs, its storage under `dir` and Redis on 127.0.0.1.
    std::string config_yaml, peer_yaml;
};

struct doc_snippet {
    std::string where;  ///< "docs/client.md:52": the file and the block's first line
    std::function<void(doc_snippet_fixture&)> run;
};

/// Every block marked `run`, in the order of the files.
const std::vector<doc_snippet>& doc_snippets();

} // namespace redispebble::test

#endif
