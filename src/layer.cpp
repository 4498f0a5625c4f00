// Implemented in its own change; see include/redispebble/layer.hpp.
