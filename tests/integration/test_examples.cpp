#include "support/transcripts.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

TEST_CASE("The shipped example inputs exist", "[examples]") {
    for (auto name : {"config.yaml", "peer.yaml", "plan.yaml"})
        CHECK(std::filesystem::exists(std::filesystem::path(REDISPEBBLE_SOURCE_DIR) / "examples" / name));
}
