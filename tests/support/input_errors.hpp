// Test support for the tests of bad input: the input_error a call throws.
#ifndef REDISPEBBLE_TESTS_SUPPORT_INPUT_ERRORS_HPP
#define REDISPEBBLE_TESTS_SUPPORT_INPUT_ERRORS_HPP

#include <redispebble/error.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace redispebble::test {

/// The input_error `call()` throws; the test fails (naming `input`) when it throws none.
template <class Call>
input_error input_error_of(Call&& call, const std::string& input) {
    try {
        (void)call();
    } catch (const input_error& e) {
        return e;
    }
    FAIL("no error for: " << input);
    throw;
}

} // namespace redispebble::test

#endif
