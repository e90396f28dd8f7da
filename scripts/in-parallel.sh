#!/usr/bin/env bash
# Runs commands JOBS at a time, in the order given, and prints each one's whole output when it ends, never
# interleaved with another's (make unit's test folders, make molecule's role scenarios). The exit status is non-zero
# when any failed, and the failed ones are named.
#   scripts/in-parallel.sh JOBS WHAT NAME COMMAND [NAME COMMAND ...]
#     JOBS     how many run at once
#     WHAT     what they are, for the last line ("unit", "molecule")
#     NAME     how a command is named in its first and last lines ("== NAME", "== NAME: passed in 12 s")
#     COMMAND  run with bash -c from the current folder
set -euo pipefail
if [ "$#" -lt 4 ] || [ $(( ($# - 2) % 2 )) -ne 0 ]; then
  echo "usage: $0 JOBS WHAT NAME COMMAND [NAME COMMAND ...]" >&2
  exit 2
fi
jobs="$1" what="$2"
shift 2
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
count=0
while [ "$#" -gt 0 ]; do
  printf '%s' "$1" > "$logs/$count.name"
  printf '%s' "$2" > "$logs/$count.cmd"
  count=$((count + 1))
  shift 2
done

run_one() {  # <index>: runs its command, then prints its log under a lock
  local i="$1" name start rc=0
  name="$(cat "$logs/$i.name")"
  start=$(date +%s)
  bash -c "$(cat "$logs/$i.cmd")" > "$logs/$i.log" 2>&1 || rc=$?
  {
    flock 9
    echo "== $name"
    cat "$logs/$i.log"
    echo "== $name: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s"
    [ "$rc" -eq 0 ] || echo "$name" >> "$logs/failed"
  } 9> "$logs/print.lock"
}
export -f run_one
export logs

seq 0 $((count - 1)) | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
if [ -s "$logs/failed" ]; then
  echo "$what: failed: $(paste -sd, "$logs/failed")"
  exit 1
fi
echo "$what: all $count passed"
