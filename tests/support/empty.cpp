// Stands in for a test directory that REDISPEBBLE_TEST_FILTER emptied (development builds only).
