// Implemented in its own change; see include/redispebble/config.hpp.
