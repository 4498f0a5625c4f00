// Implemented in its own change; see include/redispebble/shlex.hpp.
