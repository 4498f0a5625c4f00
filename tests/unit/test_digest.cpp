#include <redispebble/digest.hpp>

#include <redispebble/secret.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using namespace redispebble;

TEST_CASE("SHA-256 matches the published test vectors", "[digest]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hasher h;
    h.update("a");
    h.update("bc");
    CHECK(h.finish_hex() == sha256_hex("abc"));
}

TEST_CASE("PBKDF2-HMAC-SHA256 matches RFC 7914 test vector", "[digest]") {
    // RFC 7914 section 11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64), first 32 bytes.
    CHECK(pbkdf2_sha256_hex("passwd", "salt", 1) ==
          "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    CHECK(pbkdf2_sha256_hex("passwd", "salt", 2) != pbkdf2_sha256_hex("passwd", "salt", 1));
}

TEST_CASE("A secret prints as redacted and reveals only on request", "[digest]") {
    secret s("hunter2");
    std::ostringstream os;
    os << s;
    CHECK(os.str() == "<redacted>");
    CHECK(s.reveal() == "hunter2");
    CHECK_FALSE(s.empty());
    CHECK(secret().empty());
}
