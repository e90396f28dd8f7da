#!/usr/bin/env python3
"""Prove that no analysis task written under load was lost: ask the active backend for every one.

    check_tasks.py --web URL --backend legacy|imaging [--ca-file PEM] [--credentials-file FILE] TASKS_JSON_OR_DIR...

Each TASKS_JSON is the tasks.json of a `radiology-ops load` run: every task the simulated users created and
deleted, with the backend that accepted the write (a DIR stands for every DIR/*/load/tasks.json). Through nginx
at URL, every task still live must answer 200 with its own task_id on BACKEND, and every deleted task 404. A task
whose delete got no answer saying whether it was applied (`delete_unsure`: a timeout, a 5xx) may answer either.
Prints one JSON object with the counts and the first offenders; exits 1 when a task is missing or came back,
2 on bad usage. A 429 from nginx's rate limit is waited out (Retry-After) and asked again, and counted.
nginx's certificate is verified against --ca-file ($RADIOLOGY_WEB_CA_FILE, else the system trust store) and the
login of --credentials-file ($RADIOLOGY_WEB_CREDENTIALS_FILE) goes with every request; a certificate that does
not verify or a refused login stops the check with exit code 2 and says so.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV, FrontDoor

API_BASES = {"legacy": "/legacy/api/v1", "imaging": "/imaging/api/v1"}
WORKERS = 8
SHOWN = 20


RATE_LIMITED = 429
RATE_LIMIT_TRIES = 30
UNAUTHORIZED = 401


class RefusedError(Exception):
    """nginx's certificate did not verify or nginx refused the login: no answer says anything about a task."""


_local = threading.local()
STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError)


def _get(url: str, path: str, headers: dict[str, str], context: ssl.SSLContext) -> tuple[int, dict[str, str], bytes]:
    """GET `path` over this thread's kept-alive connection to `url`'s server (one TLS handshake per thread, not per
    request); a connection the server closed meanwhile is opened again once (a GET may be repeated)."""
    parts = urllib.parse.urlsplit(url)
    for attempt in (1, 2):
        conn = getattr(_local, "conn", None)
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=context)
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            _local.conn = conn
        try:
            conn.request("GET", parts.path + path, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
        except STALE:
            conn.close()
            _local.conn = None
            if attempt == 2:
                raise
            continue
        if answer.will_close:
            conn.close()
            _local.conn = None
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
    raise AssertionError("unreachable")


def status_of(url: str, task_id: str, door: FrontDoor, context: ssl.SSLContext) -> tuple[str, int, str | None, int]:
    """(task_id, status, the answer's task_id, 429s met) through nginx, as a polite client: a 429 (nginx's
    per-client rate limit) is waited out (Retry-After) and asked again, never taken as the answer."""
    for waited in range(RATE_LIMIT_TRIES):
        try:
            status, headers, body = _get(url, f"/analysis/tasks/{task_id}", door.headers(), context)
        except ssl.SSLCertVerificationError as e:
            raise RefusedError(f"TLS: the certificate of {url} does not verify against {door.trust()}: {e}") from e
        if status == UNAUTHORIZED and headers.get("www-authenticate"):
            raise RefusedError(door.login_refused())
        if status == 200:
            return task_id, status, str(json.loads(body).get("task_id")), waited
        if status != RATE_LIMITED:
            return task_id, status, None, waited
        time.sleep(float(headers.get("retry-after") or 1))
    return task_id, RATE_LIMITED, None, RATE_LIMIT_TRIES


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web", required=True)
    parser.add_argument("--backend", required=True, choices=sorted(API_BASES))
    parser.add_argument("--ca-file", metavar="PEM", help=f"CA bundle to verify nginx with (default ${CA_FILE_ENV})")
    parser.add_argument(
        "--credentials-file", metavar="FILE", help=f"user:password of nginx's login (default ${CREDENTIALS_FILE_ENV})"
    )
    parser.add_argument("tasks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    live: set[str] = set()
    deleted: set[str] = set()
    unsure: set[str] = set()
    paths = [p for arg in args.tasks for p in (sorted(arg.glob("*/load/tasks.json")) if arg.is_dir() else [arg])]
    if not paths:
        parser.error(f"no tasks.json in {', '.join(map(str, args.tasks))}")
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            parser.error(f"{path}: {e}")
        live.update(str(t) for t in document["live"])
        deleted.update(str(d["task_id"]) for d in document["deleted"])
        unsure.update(str(d["task_id"]) for d in document.get("delete_unsure", []))
    url = args.web.rstrip("/") + API_BASES[args.backend]
    try:
        door = FrontDoor.from_env(args.ca_file, args.credentials_file)
        context = door.ssl_context()
        door.check_url(url)
    except ValueError as e:
        parser.error(str(e))
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            answers = list(pool.map(lambda t: status_of(url, t, door, context), sorted(live | deleted | unsure)))
    except RefusedError as e:
        print(f"check_tasks.py: {e}", file=sys.stderr)
        return 2
    missing = [f"{t}: {code}" for t, code, got, _ in answers if t in live and (code != 200 or got != t)]
    back = [f"{t}: {code}" for t, code, _, _ in answers if t in deleted and code != 404]
    # Either answer is right for an unsure delete; anything else (a 5xx, another task) is missing.
    unsure_kept = [t for t, code, got, _ in answers if t in unsure and code == 200 and got == t]
    unsure_gone = [t for t, code, _, _ in answers if t in unsure and code == 404]
    missing += [f"{t}: {code}" for t, code, _, _ in answers if t in unsure and t not in unsure_kept + unsure_gone]
    result = {
        "backend": args.backend,
        "loads": len(paths),
        "live_checked": len(live),
        "deleted_checked": len(deleted),
        "missing": missing[:SHOWN],
        "missing_count": len(missing),
        "resurrected": back[:SHOWN],
        "resurrected_count": len(back),
        "delete_unsure_checked": len(unsure),
        "delete_unsure_applied": len(unsure_gone),
        "rate_limited_retries": sum(waited for *_, waited in answers),
        "ok": not missing and not back and bool(live),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
