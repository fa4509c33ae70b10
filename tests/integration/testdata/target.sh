#!/bin/sh
# A stand-in target system for the exec connector: a privilege is a file
# DIR/held/GRANT_ID. Creating DIR/fail-revoke makes revokes fail ("target
# down"); DIR/fail-grant makes grants fail.
set -eu
action="$1"; dir="$2"; grant="$3"
mkdir -p "$dir/held"
case "$action" in
  grant)
    if [ -e "$dir/fail-grant" ]; then echo "target refused the grant" >&2; exit 1; fi
    echo "$JIT_USER $JIT_EXPIRES_AT" > "$dir/held/$grant" ;;
  revoke)
    if [ -e "$dir/fail-revoke" ]; then echo "target down" >&2; exit 1; fi
    rm -f "$dir/held/$grant"
    echo "$grant" >> "$dir/revoked.log" ;;
  check)
    [ -e "$dir/held/$grant" ] && exit 0 || exit 1 ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
