#!/usr/bin/env bash
# The cutover's headline figures at a given size, on a fresh lab (make bench-cutover ROWS=N USERS=M):
#   1. a new lab whose legacy holds ROWS generated examinations (0: the 1,250-row workbook), provisioned;
#   2. cutover.yml under USERS simulated users browsing and writing through nginx;
#   3. rollback.yml under the same load;
#   4. cutover.yml again, the new service stopped on every app host as the post-switch watch starts: the
#      automatic rollback.
# After each run every task written under load so far is looked up on the backend serving (tasks-check.json).
# Each run keeps its report folder under reports/bench-cutover-<time>/; at the end the figures of all three are
# printed (radiology-ops figures): write freeze, user-visible errors, rollback windows, switch, rows per second.
# Not part of `make test`: at a million rows it takes the better part of an hour. Destroys and rebuilds the lab,
# unless BENCH_RUNS names only some of the runs (cutover, rollback, service-dies: e.g. BENCH_RUNS=service-dies
# measures the fault again on the lab as the last benchmark left it, the legacy serving).
set -euo pipefail
cd "$(dirname "$0")/.."

rows=${ROWS:-0}
users=${USERS:-50}
inventory=${INVENTORY:-inventories/lab/hosts.yml}  # WEB_URL: its radiology_web_url
out=${BENCH_OUT:-reports/bench-cutover-$(date -u +%Y%m%dT%H%M%SZ)}
out=$(realpath -m "$out")

all_runs="cutover rollback service-dies"
runs=${BENCH_RUNS:-$all_runs}
for name in $runs; do
  case " $all_runs " in *" $name "*) ;; *) echo "BENCH_RUNS: unknown run '$name' (known: $all_runs)" >&2; exit 2 ;; esac
done
if [ "$runs" = "$all_runs" ]; then
  make lab-destroy INVENTORY="$inventory"
  make site ROWS="$rows" INVENTORY="$inventory"
fi
set -a
eval "$(scripts/lab-secrets.sh)"
set +a
web=${WEB_URL:?the URL of the nginx of the inventory, which make bench-cutover passes}
app_hosts=$(ansible -i "$inventory" app --list-hosts 2>/dev/null | tail -n +2 | xargs)
# The new service dies on every app host at the same moment (stopped in parallel, each stop checked).
stop_new_service='pids=""; '
for host in $app_hosts; do
  container=$(ansible -i "$inventory" "$host" -m ansible.builtin.debug -a var=ansible_host 2>/dev/null \
    | sed -n 's/.*"ansible_host": "\(.*\)".*/\1/p')
  stop_new_service+="docker exec ${container:-$host} systemctl stop imaging-api.socket imaging-api.service & pids=\"\$pids \$!\"; "
done
stop_new_service+='for p in $pids; do wait "$p" || exit 1; done'
start_new_service=${stop_new_service//systemctl stop/systemctl start}  # afterwards, as the operator would

# One run under load: the load starts before the playbook (so users are active through the preflight) and stops
# after it; the report is written with the load's figures. $1: folder name, then run_playbook.py's arguments.
run() {
  local name=$1 dir=$out/$1
  mkdir -p "$dir"
  shift
  export RADIOLOGY_RUN_DIR=$dir RADIOLOGY_LOAD_USERS=$users
  radiology-ops load --web "$web" --users "$users" --duration 3600 --max-requests 4000000 \
    --out "$dir/load" --background
  python3 molecule/cutover/files/run_playbook.py --inventory "$inventory" --run-dir "$dir" --timeout 3600 "$@" \
    > "$dir/run.json.out"
  radiology-ops load-stop --out "$dir/load" || true
  # Nothing lost: every task the users of this and the earlier runs wrote is on the backend serving now, deleted
  # ones stay deleted (molecule/cutover's check; its verdict is in the report and printed below).
  local serving
  serving=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serving"])' "$dir/state-end.json")
  python3 molecule/cutover/files/check_tasks.py --web "$web" --backend "$serving" "$out" > "$dir/tasks-check.json" \
    || echo "$name: TASKS MISSING on $serving: see $dir/tasks-check.json"
  radiology-ops report --run-dir "$dir" > /dev/null
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], "rc", r["rc"], "in", r["seconds"], "s")' \
    "$dir/run.json.out" "$name"
}

dirs=()
for name in $runs; do
  case $name in
    cutover) run 1-cutover -- cutover.yml; dirs+=("$out/1-cutover") ;;
    rollback) run 2-rollback -- rollback.yml; dirs+=("$out/2-rollback") ;;
    service-dies)
      run 3-service-dies --fault-when watch:running --exec "$stop_new_service" -- cutover.yml --skip-tags provision
      sh -c "$start_new_service"
      dirs+=("$out/3-service-dies") ;;
  esac
done
echo
if [ "$rows" -gt 0 ]; then size="$rows generated examinations"; else size="the 1,250-row workbook"; fi
echo "Figures ($size, $users users):"
radiology-ops figures "${dirs[@]}"
echo "Reports: $out"
