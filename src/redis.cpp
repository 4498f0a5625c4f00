// Implemented in its own change; see include/redispebble/redis.hpp.
