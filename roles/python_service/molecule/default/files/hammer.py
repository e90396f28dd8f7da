"""Asks one URL from a few threads for a while and writes the tally as JSON (ok count and every error)."""

import json
import sys
import threading
import time
import urllib.error
import urllib.request

url, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
stop, lock = threading.Event(), threading.Lock()
tally: dict = {"ok": 0, "errors": []}


def client() -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                error = None if resp.status == 200 else f"HTTP {resp.status}"
        except (urllib.error.URLError, OSError) as e:
            error = repr(e)
        with lock:
            if error:
                tally["errors"].append(error)
            else:
                tally["ok"] += 1
        time.sleep(0.02)


threads = [threading.Thread(target=client) for _ in range(4)]
for t in threads:
    t.start()
time.sleep(seconds)
stop.set()
for t in threads:
    t.join()
with open(out, "w", encoding="utf-8") as stream:
    json.dump(tally, stream)
