"""gunicorn configuration for the imaging service (`gunicorn -c python:imaging_api.gunicorn_conf imaging_api.wsgi`).

Ready for a systemd unit with socket activation: when systemd passes a socket (LISTEN_FDS), gunicorn serves
it and `bind` is ignored. Environment:
  IMAGING_BIND              address when not socket-activated (default 127.0.0.1:8001)
  IMAGING_WORKERS           worker processes (default 2 x CPUs + 1)
  IMAGING_WORKER_CLASS      "gthread" (default: threads per worker, keeps client connections alive) or "sync";
                            gunicorn's worker of that kind answering the contract's 414 (gunicorn_workers.py)
  IMAGING_THREADS           threads per gthread worker (default 4)
  IMAGING_TIMEOUT           seconds a worker may spend on one request before it is restarted (default 30)
  IMAGING_GRACEFUL_TIMEOUT  seconds running requests get to finish on stop/reload (default 30)
  IMAGING_KEEPALIVE         seconds an idle client connection is kept open (default 75: longer than the reverse
                            proxy keeps its idle upstream connections, so the proxy never reuses one being closed)
  IMAGING_ACCESS_LOG        gunicorn access log target, e.g. "-" (default off: the app logs every request as JSON)
Reload: SIGHUP restarts the workers gracefully (new configuration; with preload the code is the master's);
for new code use `systemctl restart`, or SIGUSR2 then SIGQUIT to the old master for a binary upgrade.
"""

import multiprocessing
import os

from radiology_contract import responses

from imaging_api.gunicorn_workers import WORKER_CLASSES


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"environment variable {name}={raw!r} is not an integer") from None


bind = [os.environ.get("IMAGING_BIND", "127.0.0.1:8001")]
workers = _int("IMAGING_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_kind = os.environ.get("IMAGING_WORKER_CLASS", "gthread")
if worker_kind not in WORKER_CLASSES:
    raise SystemExit(f"IMAGING_WORKER_CLASS={worker_kind!r}: use sync or gthread")
worker_class = WORKER_CLASSES[worker_kind]
threads = _int("IMAGING_THREADS", 4) if worker_kind == "gthread" else 1
# The contract's request line limit: a longer line answers 414 uri_too_long (the workers render it).
limit_request_line = responses.MAX_REQUEST_LINE_BYTES
timeout = _int("IMAGING_TIMEOUT", 30)
graceful_timeout = _int("IMAGING_GRACEFUL_TIMEOUT", 30)
keepalive = _int("IMAGING_KEEPALIVE", 75)
backlog = 2048
max_requests = _int("IMAGING_MAX_REQUESTS", 20_000)
max_requests_jitter = max_requests // 10
preload_app = True
accesslog = os.environ.get("IMAGING_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("IMAGING_GUNICORN_LOG_LEVEL", "info")
proc_name = "imaging-api"
# systemd is the control interface (restart, reload); no control socket in a read-only home.
control_socket_disable = True
