// Implemented in its own change; see include/redispebble/reconcile.hpp.
