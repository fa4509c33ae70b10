#!/bin/sh
# A stand-in target system for ExecConnector tests: a grant is a marker file
# and a session a file, both in $TARGET_DIR (set through the connector's env).
# Usage: marker_target.sh grant|revoke|check|sessions|kill_sessions GRANT_ID
set -eu
action=$1
grant=$2
case "$grant" in
  '' | */* | .*) echo "bad grant id: $grant" >&2; exit 2 ;;
esac
marker="$TARGET_DIR/grant-$grant"
case "$action" in
  grant) : > "$marker" ;;
  revoke) rm -f "$marker" ;;
  check)
    if [ -e "$marker" ]; then exit 0; fi
    exit 1 ;;
  sessions)
    for f in "$TARGET_DIR/session-$grant-"*; do
      if [ -e "$f" ]; then echo "${f##*/session-$grant-}"; fi
    done ;;
  kill_sessions)
    if [ ! -e "$TARGET_DIR/survive" ]; then rm -f "$TARGET_DIR/session-$grant-"*; fi ;;
  *) echo "unknown action: $action" >&2; exit 2 ;;
esac
