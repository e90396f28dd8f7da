#!/usr/bin/env bash
# The failover under load, on the lab with a standby after a cutover (make cutover INVENTORY=inventories/lab_ha/...):
# USERS simulated users (default 50) browse and write tasks through nginx; the primary's container is killed (a
# lost server: no clean shutdown, unreachable afterwards); after DETECT seconds (default 5: an operator's or a
# monitor's reaction) playbooks/failover.yml promotes TO (default db2) and points the app hosts at it; the load goes on
# for 20 s more. Prints the playbook's time, the requests that failed and when users saw the first and the last of
# them, and whether every task a user was told was saved is on the new primary (molecule/cutover's check_tasks.py).
#   scripts/bench-failover.sh        (make bench-failover; figures in reports/failover-<time>/)
# The killed primary stays stopped: `make lab INVENTORY=…` starts its container again, then
# `ansible-playbook -i … site.yml -e radiology_db_primary=TO -e postgresql_standby_rebuild=true` makes it a standby.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
inventory="${INVENTORY:-inventories/lab_ha/hosts.yml}"
users="${USERS:-50}"
detect="${DETECT:-5}"
to="${TO:-db2}"
set -a; eval "$(scripts/lab-secrets.sh)"; set +a
web=$(ansible -i "$inventory" localhost -m ansible.builtin.debug -a var=radiology_web_url 2>/dev/null \
  | sed -n 's/.*"radiology_web_url": "\(.*\)".*/\1/p')
primary=$(ansible -i "$inventory" localhost -m ansible.builtin.debug -a var=radiology_db_primary 2>/dev/null \
  | sed -n 's/.*"radiology_db_primary": "\(.*\)".*/\1/p')
container=$(ansible -i "$inventory" "$primary" -m ansible.builtin.debug -a var=ansible_host 2>/dev/null \
  | sed -n 's/.*"ansible_host": "\(.*\)".*/\1/p')
out="$root/reports/failover-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "failover: $users users on $web; killing $primary ($container) in 20 s, failover to $to $detect s later; $out"

radiology-ops load --web "$web" --users "$users" --duration 600 --max-requests 400000 --out "$out/load" --background
sleep 20
killed=$(date +%s.%N)
docker kill "$container" > /dev/null
sleep "$detect"
started=$(date +%s.%N)
rc=0
ansible-playbook -i "$inventory" playbooks/failover.yml -e "radiology_failover_to=$to" > "$out/failover.log" 2>&1 || rc=$?
ended=$(date +%s.%N)
sleep 20
radiology-ops load-stop --out "$out/load" > /dev/null || true
tasks_rc=0
python3 molecule/cutover/files/check_tasks.py --web "$web" --backend imaging "$out/load/tasks.json" \
  > "$out/tasks-check.json" || tasks_rc=$?
python3 - "$out" "$killed" "$started" "$ended" "$rc" "$tasks_rc" <<'PY'
import json, sys
from pathlib import Path
out, killed, started, ended, rc, tasks_rc = Path(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5]), int(sys.argv[6])
load = json.loads((out / "load" / "summary.json").read_text())
tasks = json.loads((out / "tasks-check.json").read_text())
seen = load.get("failures_seen")
start = load["started_epoch"]
figures = {
    "failover_playbook_rc": rc,
    "failover_playbook_seconds": round(ended - started, 1),
    "primary_killed_to_failover_done_seconds": round(ended - killed, 1),
    "requests": load["requests"],
    "failed": load["failed"],
    "error_window_seconds": round(seen["last_s"] - seen["first_s"], 1) if seen else 0.0,
    "first_failure_after_kill_seconds": round(start + seen["first_s"] - killed, 1) if seen else None,
    "last_failure_after_failover_done_seconds": round(start + seen["last_s"] - ended, 1) if seen else None,
    "tasks_check_rc": tasks_rc,
    "tasks": {k: v for k, v in tasks.items() if not isinstance(v, list)},
}
(out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
print(json.dumps(figures, indent=2))
PY
[ "$rc" -eq 0 ] && [ "$tasks_rc" -eq 0 ]
