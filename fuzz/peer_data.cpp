// load_peer_data: only input_error on bad input; what it accepts validates and is valid UTF-8;
// an error message never contains the password it refused.
#include "fuzz_target.hpp"
#include "util.hpp"

#include <redispebble/config.hpp>
#include <redispebble/error.hpp>

#include <string>

REDISPEBBLE_FUZZ_TARGET(peer_data) {
    using namespace redispebble;
    const auto accepted = fuzz::accepted([&] { return load_peer_data(fuzz::as_text(data, size)); });
    if (!accepted) return 0;
    const peer_data& peer = *accepted;
    validate(peer);
    FUZZ_CHECK(fuzz::valid_utf8(peer.admin_password.reveal()));
    FUZZ_CHECK(fuzz::valid_utf8(peer.current_master));
    FUZZ_CHECK(fuzz::valid_utf8(peer.hostname));
    return 0;
}
