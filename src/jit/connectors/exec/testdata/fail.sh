#!/bin/sh
# Fails like a target that refused: a message on stderr, exit code $1.
echo "  target refused: role \"app_read\" does not exist  " >&2
exit "$1"
