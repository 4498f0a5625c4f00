// The Pebble client; see include/redispebble/pebble/.
