"""The front door's price: HTTPS and HTTP Basic login on the studies search, against plain HTTP, in one run.

One nginx (the distribution's binary, run as a foreground child under a throwaway prefix, loopback only) proxies
the legacy service (a generated workbook imported into DuckDB and served by `legacy-api serve`) on two servers
that differ only in the front door: (a) plain HTTP without login; (b) HTTPS with a certificate of a throwaway CA
and auth_basic against a bcrypt htpasswd. The TLS protocols and ciphers and the bcrypt work factor are read from
roles/nginx/defaults/main.yml, so the figures follow the role.

One client sends `GET /legacy/api/v1/studies/search?q=...` sequentially in four modes, interleaved in small
batches whose order rotates (drift and background load fall on every mode alike):

    1  HTTP, one kept-alive connection
    2  HTTPS + login, one kept-alive connection      (2/1: bcrypt check + TLS record cost)
    3  HTTP, a new connection per request
    4  HTTPS + login, a new connection per request   (4/3: bcrypt check + a full TLS handshake each time)

Every answer must be a 200 with the contract's list envelope; before measuring, the HTTPS server must refuse a
request without credentials (401). The client verifies the server against the throwaway CA. Prints the median,
p95 and requests/s per mode, the ratios, and crypt()'s own time per verification at the role's cost.

    python -m radiology_ops.bench_frontdoor [--requests 300] [--warmup 30] [--batch 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import base64
import grp
import http.client
import json
import os
import pwd
import secrets
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from radiology_contract import synthetic
from radiology_testkit.ports import LOOPBACK, free_port
from radiology_testkit.servers import serve
from radiology_testkit.tls import Pki, make_pki

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[4]
ROLE_DEFAULTS = REPO_ROOT / "roles" / "nginx" / "defaults" / "main.yml"
API_PREFIX = "/legacy/api/v1/"
SEARCH_PATH = API_PREFIX + "studies/search"
NGINX_HEALTH = "/nginx-health"
# Free-text searches the frontend sends (short, accented, quoted, multi-word); every mode cycles through the same.
QUERIES = ("chest", "müller", "o'brien", "ct", "mri brain")
ENVELOPE = ("data", "total", "page", "page_size", "filters")
USER = "bench"
TIMEOUT_SECONDS = 10.0
MAX_REQUESTS, MAX_WARMUP, MAX_ROWS, MAX_BATCH = 2000, 200, 20_000, 100
CRYPT_RUNS, CRYPT_SECONDS = 50, 2.0


class BenchError(RuntimeError):
    """The bench cannot run (missing tool, bad role settings) or an answer was not the one expected."""


@dataclass(frozen=True)
class RoleSettings:
    """What the nginx role configures for TLS and HTTP Basic login (roles/nginx/defaults/main.yml)."""

    tls_protocols: tuple[str, ...]
    tls_ciphers: str
    bcrypt_cost: int
    source: Path


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    tls: bool
    keepalive: bool


MODES = (
    Mode("http_keepalive", "HTTP, keep-alive", tls=False, keepalive=True),
    Mode("https_auth_keepalive", "HTTPS + login, keep-alive", tls=True, keepalive=True),
    Mode("http_new_connection", "HTTP, new connection per request", tls=False, keepalive=False),
    Mode("https_auth_new_connection", "HTTPS + login, new connection per request", tls=True, keepalive=False),
)
# (numerator, denominator, what the ratio isolates), 1-based mode numbers.
RATIOS = (
    (2, 1, "login + TLS records, kept-alive connections"),
    (4, 3, "login + full TLS handshake, new connections"),
    (4, 1, "HTTPS + login per new connection vs HTTP keep-alive"),
)


@dataclass
class Samples:
    latencies_ms: list[float] = field(default_factory=list)
    connections: int = 0  # TCP connections the mode opened while measured (keep-alive modes: 0 when nothing dropped)

    def summary(self) -> dict[str, float | int]:
        ms = self.latencies_ms
        return {
            "requests": len(ms),
            "median_ms": statistics.median(ms),
            "p95_ms": _percentile(ms, 95),
            "mean_ms": statistics.fmean(ms),
            # One sequential client: requests over the time spent in them.
            "requests_per_second": len(ms) / (sum(ms) / 1000.0),
            "connections_opened": self.connections,
        }


def _percentile(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def load_role_settings(path: Path = ROLE_DEFAULTS) -> RoleSettings:
    """The role's TLS protocols and ciphers and its bcrypt cost, checked for type (no Jinja: plain values only)."""
    try:
        defaults = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchError(f"cannot read the nginx role's defaults {path}: {exc}") from exc
    if not isinstance(defaults, dict):
        raise BenchError(f"{path} is not a mapping of variables")
    protocols, ciphers, cost = (
        defaults.get(k) for k in ("nginx_tls_protocols", "nginx_tls_ciphers", "nginx_auth_basic_bcrypt_cost")
    )
    if not isinstance(protocols, list) or not protocols or not all(isinstance(p, str) for p in protocols):
        raise BenchError(f"{path}: nginx_tls_protocols must be a non-empty list of names, not {protocols!r}")
    if not isinstance(ciphers, str) or not ciphers.strip() or "{" in ciphers:
        raise BenchError(f"{path}: nginx_tls_ciphers must be a plain cipher string, not {ciphers!r}")
    if isinstance(cost, bool) or not isinstance(cost, int) or not 4 <= cost <= 31:
        raise BenchError(f"{path}: nginx_auth_basic_bcrypt_cost must be an integer from 4 to 31, not {cost!r}")
    return RoleSettings(tuple(protocols), " ".join(ciphers.split()), cost, path)


def _crypt_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # noqa: PLC0415 - deprecated module, imported only here with its warning silenced
        except ImportError as exc:
            raise BenchError(
                "Python's crypt module is missing (removed in Python 3.13): the bench needs it to make the bcrypt "
                "htpasswd hash nginx verifies; run it with Python 3.11 or 3.12 (the project venv)"
            ) from exc
    return crypt


def bcrypt_hash(password: str, cost: int) -> str:
    """A `$2b$` bcrypt hash of `password` at work factor `cost`, made by the C library's crypt()."""
    crypt = _crypt_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2**cost))
    if not hashed or not hashed.startswith(f"$2b${cost:02d}$"):
        raise BenchError(f"this system's crypt() made no bcrypt hash at cost {cost} (got {hashed!r})")
    return hashed


def crypt_verify_ms(password: str, hashed: str) -> tuple[float, int]:
    """Median milliseconds of one crypt() verification of `hashed` in this process, and how many were timed."""
    crypt = _crypt_module()
    times: list[float] = []
    deadline = time.perf_counter() + CRYPT_SECONDS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        while len(times) < CRYPT_RUNS and (len(times) < 3 or time.perf_counter() < deadline):
            started = time.perf_counter()
            ok = crypt.crypt(password, hashed) == hashed
            times.append((time.perf_counter() - started) * 1000)
            if not ok:
                raise BenchError("crypt() does not verify the hash it made")
    return statistics.median(times), len(times)


def find_nginx(explicit: str | None = None) -> str:
    candidate = explicit or shutil.which("nginx") or "/usr/sbin/nginx"
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise BenchError(f"no nginx binary at {candidate}: install nginx-light (make bootstrap) or pass --nginx")
    return candidate


def _worker_user() -> str:
    """nginx started by root runs its workers as another user: name one that exists (they only read the prefix)."""
    if os.geteuid() != 0:
        return ""
    nobody = pwd.getpwnam("nobody")
    return f"user {nobody.pw_name} {grp.getgrgid(nobody.pw_gid).gr_name};\n"


def nginx_config(
    prefix: Path, *, http_port: int, https_port: int, upstream_port: int, pki: Pki, htpasswd: Path, role: RoleSettings
) -> str:
    """Two servers in front of the same upstream, identical but for TLS and login."""
    location = f"""
        location = {NGINX_HEALTH} {{
            auth_basic off;
            default_type application/json;
            return 200 '{{"status": "ok"}}\\n';
        }}
        location {API_PREFIX} {{
            rewrite ^{API_PREFIX}(.*)$ /api/v1/$1 break;
            proxy_pass http://radiology_legacy;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}"""
    tmp = prefix / "tmp"
    return f"""{_worker_user()}worker_processes 1;
error_log {prefix / "error.log"} warn;
events {{
    worker_connections 512;
}}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {tmp / "body"};
    proxy_temp_path {tmp / "proxy"};
    fastcgi_temp_path {tmp / "fastcgi"};
    uwsgi_temp_path {tmp / "uwsgi"};
    scgi_temp_path {tmp / "scgi"};
    # Kept-alive client connections outlive the whole run (no reconnect inside a keep-alive mode).
    keepalive_requests 100000;
    keepalive_timeout 75s;

    upstream radiology_legacy {{
        server {LOOPBACK}:{upstream_port};
        keepalive 16;
    }}

    server {{
        listen {LOOPBACK}:{http_port};
        server_name {LOOPBACK} localhost;
{location}
    }}

    server {{
        listen {LOOPBACK}:{https_port} ssl;
        server_name {LOOPBACK} localhost;
        ssl_certificate {pki.cert_file};
        ssl_certificate_key {pki.key_file};
        ssl_protocols {" ".join(role.tls_protocols)};
        ssl_ciphers {role.tls_ciphers};
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:bench_tls:10m;
        ssl_session_tickets off;
        auth_basic "Radiology";
        auth_basic_user_file {htpasswd};
{location}
    }}
}}
"""


@dataclass(frozen=True)
class FrontDoor:
    http_port: int
    https_port: int
    ca_file: Path
    authorization: str  # the Basic header value of the bench user
    nginx_version: str


@contextmanager
def legacy_service(workdir: Path, rows: int, seed: int) -> Iterator[int]:
    """The legacy service on loopback over a generated workbook imported as the lab imports it; yields its port."""
    book, db = workdir / "examinations.xlsx", workdir / "medical_imaging.duckdb"
    synthetic.write_xlsx(book, rows=rows, seed=seed)
    legacy_api = str(BIN / "legacy-api")
    done = subprocess.run(
        [legacy_api, "import", "--db", str(db), str(book)], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"legacy-api import failed:\n{done.stdout}{done.stderr}")
    port = free_port()
    cmd = [legacy_api, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with serve(cmd, port, "/api/v1/health", ready=lambda status, _body: status == 200, timeout=60):
        yield port


@contextmanager
def front_door(workdir: Path, nginx: str, upstream_port: int, role: RoleSettings) -> Iterator[FrontDoor]:
    """One nginx with the plain and the HTTPS + login server, stopped on exit."""
    prefix = workdir / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    pki = make_pki(workdir / "pki")
    password = secrets.token_urlsafe(18)
    htpasswd = prefix / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt_hash(password, role.bcrypt_cost)}\n", encoding="ascii")
    if os.geteuid() == 0:  # the workers (user nobody) read the htpasswd file and write their temp folders
        for path in (workdir, prefix, prefix / "tmp"):
            path.chmod(0o755)
        htpasswd.chmod(0o644)
    http_port, https_port = free_port(), free_port()
    conf = prefix / "nginx.conf"
    text = nginx_config(
        prefix,
        http_port=http_port,
        https_port=https_port,
        upstream_port=upstream_port,
        pki=pki,
        htpasswd=htpasswd,
        role=role,
    )
    conf.write_text(text, encoding="utf-8")
    base = [nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
    globals_ = f"daemon off; pid {prefix / 'nginx.pid'};"
    checked = subprocess.run([*base, "-t", "-q", "-g", globals_], check=False, capture_output=True, text=True)
    if checked.returncode != 0:
        raise BenchError(f"nginx refused the bench configuration {conf}:\n{checked.stderr}")
    shown = subprocess.run([nginx, "-v"], check=False, capture_output=True, text=True).stderr
    version = shown.strip().rpartition("/")[2]
    token = base64.b64encode(f"{USER}:{password}".encode()).decode("ascii")
    with serve([*base, "-g", globals_], http_port, NGINX_HEALTH, ready=lambda status, _body: status == 200):
        yield FrontDoor(http_port, https_port, pki.ca_file, f"Basic {token}", version)


class Client:
    """Sequential HTTP/1.1 requests in the four modes; kept-alive connections live for the whole run."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.tls = ssl.create_default_context(cafile=str(door.ca_file))
        self.kept: dict[str, http.client.HTTPConnection] = {}

    def connection(self, tls: bool) -> http.client.HTTPConnection:
        if tls:
            return http.client.HTTPSConnection(
                LOOPBACK, self.door.https_port, timeout=TIMEOUT_SECONDS, context=self.tls
            )
        return http.client.HTTPConnection(LOOPBACK, self.door.http_port, timeout=TIMEOUT_SECONDS)

    def headers(self, tls: bool, authorization: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if tls and authorization:
            headers["Authorization"] = authorization
        return headers

    def request(self, mode: Mode, query: str) -> tuple[float, bool, int, http.client.HTTPMessage, bytes]:
        """(milliseconds to the last byte of the body, whether a connection was opened, status, headers, body)."""
        path = f"{SEARCH_PATH}?q={quote(query, safe='')}"
        headers = self.headers(mode.tls, self.door.authorization)
        if mode.keepalive:
            conn = self.kept.get(mode.key)
            if conn is None:
                conn = self.kept[mode.key] = self.connection(mode.tls)
            opened = conn.sock is None
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - started
        else:
            opened = True
            started = time.perf_counter()
            conn = self.connection(mode.tls)
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
            finally:
                conn.close()
        return elapsed * 1000, opened, response.status, response.headers, body

    def tls_session(self) -> tuple[str, str]:
        """Protocol and cipher of the kept-alive HTTPS connection (open after the warm-up)."""
        conn = self.kept.get("https_auth_keepalive")
        sock = conn.sock if conn else None
        if not isinstance(sock, ssl.SSLSocket):
            raise BenchError("no kept-alive HTTPS connection to read the TLS session from")
        cipher = sock.cipher()
        return sock.version() or "?", cipher[0] if cipher else "?"

    def close(self) -> None:
        for conn in self.kept.values():
            conn.close()


def check_answer(mode: Mode, query: str, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
    """A 200 from the legacy service with the contract's list envelope for this query; anything else stops the run."""
    where = f"{mode.label}, q={query!r}"
    if status != 200:
        raise BenchError(f"{where}: HTTP {status} instead of 200: {body[:300]!r}")
    if headers.get("X-Backend") != "legacy":
        raise BenchError(f"{where}: the answer did not come from the legacy service (X-Backend {headers['X-Backend']})")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise BenchError(f"{where}: the body is not JSON: {body[:300]!r}") from exc
    if not isinstance(document, dict) or tuple(document) != ENVELOPE:
        raise BenchError(f"{where}: not the list envelope {ENVELOPE}: {body[:300]!r}")
    if not isinstance(document["data"], list) or not isinstance(document["total"], int):
        raise BenchError(f"{where}: data is not a list or total not an integer")
    if document["filters"].get("q") != query:
        raise BenchError(f"{where}: filters.q is {document['filters'].get('q')!r}")


def check_login_required(client: Client) -> None:
    """The HTTPS server refuses a request without credentials and one with a wrong password (401)."""
    wrong = "Basic " + base64.b64encode(f"{USER}:not-the-password".encode()).decode("ascii")
    for what, authorization in (("without credentials", None), ("with a wrong password", wrong)):
        conn = client.connection(tls=True)
        try:
            conn.request("GET", f"{SEARCH_PATH}?q=chest", headers=client.headers(True, authorization))
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != 401:
            raise BenchError(f"the HTTPS server answered {response.status} to a request {what}, not 401")


def schedule(requests: int, batch: int) -> Iterator[tuple[Mode, int]]:
    """(mode, batch size) in rounds of one batch per mode; each round starts one mode later than the last."""
    done, round_ = 0, 0
    while done < requests:
        size = min(batch, requests - done)
        offset = round_ % len(MODES)
        for mode in MODES[offset:] + MODES[:offset]:
            yield mode, size
        done += size
        round_ += 1


def measure(client: Client, requests: int, warmup: int, batch: int) -> dict[str, Samples]:
    """Warm every mode up (unrecorded), then measure `requests` per mode in interleaved batches."""
    counter = 0
    for mode in MODES:
        for _ in range(warmup):
            query = QUERIES[counter % len(QUERIES)]
            counter += 1
            check_answer(mode, query, *client.request(mode, query)[2:])
    samples = {mode.key: Samples() for mode in MODES}
    for mode, size in schedule(requests, batch):
        for _ in range(size):
            query = QUERIES[counter % len(QUERIES)]
            counter += 1
            ms, opened, status, headers, body = client.request(mode, query)
            check_answer(mode, query, status, headers, body)
            samples[mode.key].latencies_ms.append(ms)
            samples[mode.key].connections += opened
    return samples


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def results(samples: dict[str, Samples]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    modes = {m.key: {"mode": n, "label": m.label, **samples[m.key].summary()} for n, m in enumerate(MODES, 1)}
    ratios: dict[str, dict[str, Any]] = {}
    for top, bottom, meaning in RATIOS:
        a, b = modes[MODES[top - 1].key], modes[MODES[bottom - 1].key]
        ratios[f"{top}/{bottom}"] = {
            "meaning": meaning,
            "median": _ratio(a["median_ms"], b["median_ms"]),
            "p95": _ratio(a["p95_ms"], b["p95_ms"]),
            "requests_per_second": _ratio(a["requests_per_second"], b["requests_per_second"]),
            "median_added_ms": a["median_ms"] - b["median_ms"],
        }
    return modes, ratios


def render(report: dict[str, Any]) -> str:
    tls, auth, run = report["tls"], report["auth"], report["run"]
    lines = [
        f"front door bench: GET {SEARCH_PATH}?q=… through nginx {report['nginx_version']} to the legacy service "
        f"({run['examinations']} examinations), loopback",
        f"  HTTPS: {tls['protocol']} {tls['cipher']}, {tls['certificate']}; protocols {' '.join(tls['protocols'])} "
        f"and ciphers from {report['role_defaults']}",
        f"  login: auth_basic, bcrypt cost {auth['bcrypt_cost']} (the role's nginx_auth_basic_bcrypt_cost); "
        f"crypt() in-process: {auth['crypt_verify_ms']:.2f} ms per verification (median of {auth['crypt_runs']})",
        f"  {run['requests_per_mode']} requests per mode after {run['warmup_per_mode']} warm-up, one sequential "
        f"client, batches of {run['batch']} interleaved in rotating order; every answer a checked 200",
        "",
        f"{'mode':<46}{'requests':>9}{'median ms':>11}{'p95 ms':>9}{'req/s':>9}{'conns':>7}",
    ]
    for m in report["modes"].values():
        lines.append(
            f"{str(m['mode']) + '  ' + m['label']:<46}{m['requests']:>9}{m['median_ms']:>11.2f}{m['p95_ms']:>9.2f}"
            f"{m['requests_per_second']:>9.0f}{m['connections_opened']:>7}"
        )
    lines += ["", f"{'ratio':<58}{'median':>8}{'p95':>8}{'req/s':>8}{'+ms median':>12}"]
    for name, r in report["ratios"].items():
        lines.append(
            f"{name + '  ' + r['meaning']:<58}{r['median']:>7.2f}x{r['p95']:>7.2f}x{r['requests_per_second']:>7.2f}x"
            f"{r['median_added_ms']:>+12.2f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    role = load_role_settings(args.role_defaults)
    nginx = find_nginx(args.nginx)
    _crypt_module()  # fail before starting anything when hashes cannot be made
    password = secrets.token_urlsafe(18)
    verify_ms, crypt_runs = crypt_verify_ms(password, bcrypt_hash(password, role.bcrypt_cost))
    with tempfile.TemporaryDirectory(prefix="radiology-bench-front-door-") as tmp:
        workdir = Path(tmp)
        with (
            legacy_service(workdir, args.rows, args.seed) as upstream_port,
            front_door(workdir, nginx, upstream_port, role) as door,
        ):
            client = Client(door)
            try:
                check_login_required(client)
                samples = measure(client, args.requests, args.warmup, args.batch)
                protocol, cipher = client.tls_session()
            finally:
                client.close()
    modes, ratios = results(samples)
    source = role.source.relative_to(REPO_ROOT) if role.source.is_relative_to(REPO_ROOT) else role.source
    return {
        "endpoint": SEARCH_PATH,
        "queries": list(QUERIES),
        "nginx_version": door.nginx_version,
        "role_defaults": str(source),
        "tls": {
            "protocol": protocol,
            "cipher": cipher,
            "protocols": list(role.tls_protocols),
            "ciphers": role.tls_ciphers,
            "certificate": "ECDSA P-256 server certificate of a throwaway CA, verified by the client",
        },
        "auth": {"bcrypt_cost": role.bcrypt_cost, "crypt_verify_ms": verify_ms, "crypt_runs": crypt_runs},
        "run": {
            "examinations": args.rows,
            "requests_per_mode": args.requests,
            "warmup_per_mode": args.warmup,
            "batch": args.batch,
        },
        "modes": modes,
        "ratios": ratios,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m radiology_ops.bench_frontdoor", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help=f"measured requests per mode (1-{MAX_REQUESTS})")
    parser.add_argument("--warmup", type=int, default=30, help=f"unrecorded requests per mode first (0-{MAX_WARMUP})")
    parser.add_argument("--batch", type=int, default=10, help=f"requests per mode in a row (1-{MAX_BATCH})")
    parser.add_argument("--rows", type=int, default=synthetic.DEFAULT_ROWS, help=f"examinations (1-{MAX_ROWS})")
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument("--role-defaults", type=Path, default=ROLE_DEFAULTS, help="the nginx role's defaults file")
    parser.add_argument("--nginx", help="nginx binary (default: nginx on PATH, else /usr/sbin/nginx)")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS or not 0 <= args.warmup <= MAX_WARMUP:
        parser.error(f"--requests must be in [1, {MAX_REQUESTS}] and --warmup in [0, {MAX_WARMUP}]")
    if not 1 <= args.batch <= MAX_BATCH or not 1 <= args.rows <= MAX_ROWS:
        parser.error(f"--batch must be in [1, {MAX_BATCH}] and --rows in [1, {MAX_ROWS}]")
    try:
        report = run(args)
    except BenchError as exc:
        print(f"bench-front-door: {exc}", file=sys.stderr)
        return 1
    print(render(report), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
