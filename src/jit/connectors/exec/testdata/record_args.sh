#!/bin/sh
# Writes its argument count, each argument on its own line, and its whole
# environment to $TARGET_DIR, for ExecConnector tests to inspect.
{
  echo "$#"
  for arg in "$@"; do printf '%s\n' "$arg"; done
} > "$TARGET_DIR/args"
env > "$TARGET_DIR/env"
