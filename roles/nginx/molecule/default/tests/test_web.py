"""The nginx role's promises, checked on the converged web host (requests are made inside the container).

The site is HTTPS only, with a certificate of the scenario's CA (/usr/local/share/molecule-ca.crt, verified by every
client here) and HTTP Basic login (the users of molecule.yml); tests/test_auth_request.py checks the second host,
whose users come from a stand-in SSO verifier.
"""

import base64
import json
import re

testinfra_hosts = ["molecule-nginx-web"]

ALLOWED_ORIGIN = "https://allowed.hospital.test"
CA_FILE = "/usr/local/share/molecule-ca.crt"
# The scenario's users (molecule.yml, nginx_auth_basic_users).
USER = "molecule-reader"
PASSWORD = 'mol "pw": with spaces, #hash and \\back'
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

# Makes one request with urllib (redirects are not followed; HTTPS verified against CA_FILE) and prints status,
# headers (lower-cased names, repeated ones joined) and body. A POST sends "{}", or BODY_SIZE bytes when given.
_CLIENT = r"""
import json, ssl, sys, urllib.error, urllib.request
method, url, headers, ca_file = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
body_size = int(sys.argv[5]) if len(sys.argv) > 5 else None
data = (b"{}" if body_size is None else b"x" * body_size) if method == "POST" else None
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
opener = urllib.request.build_opener(
    NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
req = urllib.request.Request(url, data=data, method=method, headers=headers)
try:
    resp = opener.open(req, timeout=10)
except urllib.error.HTTPError as e:
    resp = e
out = {}
for name, value in resp.headers.items():
    out[name.lower()] = out[name.lower()] + ", " + value if name.lower() in out else value
print(json.dumps({"status": resp.status, "headers": out, "body": resp.read().decode()}))
"""


def _http(host, path, method="GET", headers=None, port=None, body_size=None, auth=True, url=None):
    """A request to the site over HTTPS (logged in unless auth=False), or plain HTTP to `port` (a backend, port 80)."""
    if url is None:
        url = f"https://127.0.0.1{path}" if port is None else f"http://127.0.0.1:{port}{path}"
    headers = dict(headers or {})
    if auth and url.startswith("https://"):
        headers.setdefault("Authorization", BASIC)
    extra = [] if body_size is None else [str(body_size)]
    result = host.run(
        "python3 -c %s %s %s %s %s" + " %s" * len(extra), _CLIENT, method, url, json.dumps(headers), CA_FILE, *extra
    )
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def _contract_error(resp, status, code):
    """nginx's own answer in the API contract's error shape, with the security headers and no backend."""
    assert resp["status"] == status, resp
    assert resp["headers"]["content-type"] == "application/json", resp
    doc = json.loads(resp["body"])
    assert doc["error"]["code"] == code, doc
    assert doc["error"]["message"], doc
    assert doc["error"]["details"] == [], doc
    assert resp["headers"]["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp["headers"]["content-security-policy"]
    assert resp["headers"]["strict-transport-security"] == "max-age=63072000", resp
    assert "x-backend" not in resp["headers"], resp


# Sends one raw HTTP request (the argument, with \r\n escapes) to port 80, or over TLS to 443 (verified, with the
# SNI name given), and prints what came back before the server closed the connection, as JSON:
# {"received": "<text>", "reset": bool}.
_RAW = r"""
import json, socket, ssl, sys
request = sys.argv[1].encode().decode("unicode_escape").encode()
sni = sys.argv[2] if len(sys.argv) > 2 else ""
sock = socket.create_connection(("127.0.0.1", 443 if sni else 80), timeout=10)
if sni:
    context = ssl.create_default_context(cafile="/usr/local/share/molecule-ca.crt")
    sock = context.wrap_socket(sock, server_hostname=sni)
sock.sendall(request)
received, reset = b"", False
try:
    while chunk := sock.recv(65536):
        received += chunk
except (ConnectionResetError, ssl.SSLEOFError):
    reset = True
print(json.dumps({"received": received.decode(errors="replace"), "reset": reset}))
"""


def _raw(host, request, tls_name=None):
    extra = [tls_name] if tls_name else []
    result = host.run("python3 -c %s %s" + " %s" * len(extra), _RAW, request, *extra)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_nginx_running_and_enabled(host):
    nginx = host.service("nginx")
    assert nginx.is_running
    assert nginx.is_enabled


def test_configuration_passes_nginx_t(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr


def test_distribution_default_site_removed(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    assert host.file("/etc/nginx/sites-enabled/radiology.conf").linked_to == "/etc/nginx/sites-available/radiology.conf"


def test_listens_on_ports_80_and_443(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening
    assert host.socket("tcp://0.0.0.0:443").is_listening


def test_nginx_health_needs_no_login(host):
    resp = _http(host, "/nginx-health", auth=False)
    assert resp["status"] == 200
    assert json.loads(resp["body"]) == {"status": "ok"}
    # On port 80 it answers loopback clients only (the role's own check); everything else there is a redirect.
    assert _http(host, "/nginx-health", port=80)["status"] == 200


def test_root_serves_index_of_current_release_uncached(host):
    resp = _http(host, "/")
    assert resp["status"] == 200
    assert "molecule-r1 index" in resp["body"]
    assert resp["headers"]["cache-control"] == "no-cache"


def test_hashed_assets_cached_long(host):
    resp = _http(host, "/assets/app-3f2a9c.js")
    assert resp["status"] == 200
    assert "immutable" in resp["headers"]["cache-control"]
    assert "max-age=31536000" in resp["headers"]["cache-control"]


def test_missing_asset_is_404_not_index(host):
    assert _http(host, "/assets/missing-000.js")["status"] == 404


def test_release_metadata_not_served(host):
    assert _http(host, "/.release.json")["status"] == 404


def test_legacy_api_reaches_legacy_upstream(host):
    resp = _http(host, "/legacy/api/v1/health")
    assert resp["status"] == 200
    doc = json.loads(resp["body"])
    assert doc["backend"] == "legacy"
    assert doc["path"] == "/api/v1/health"
    assert resp["headers"]["x-backend"] == "legacy"


def test_imaging_api_balanced_across_app_instances(host):
    instances = set()
    for _ in range(8):
        resp = _http(host, "/imaging/api/v1/health")
        assert resp["status"] == 200
        doc = json.loads(resp["body"])
        assert doc["backend"] == "imaging"
        assert doc["path"] == "/api/v1/health"
        instances.add(doc["instance"])
    assert instances == {"imaging-a", "imaging-b"}


def _posts_received(host):
    return sum(json.loads(_http(host, "/api/v1/_posts", port=port)["body"])["posts"] for port in (18001, 18002))


def _backend_requests(host):
    """Requests received so far by every stand-in (legacy, imaging-a, imaging-b), asked directly."""
    return [json.loads(_http(host, "/api/v1/_posts", port=port)["body"])["requests"] for port in (18000, 18001, 18002)]


def test_post_never_sent_to_a_second_server(host):
    # Both imaging instances are up and answer every POST with 503: proxy_next_upstream would pass a GET
    # on to the other one, but a POST must reach exactly one server.
    before = _posts_received(host)
    resp = _http(host, "/imaging/api/v1/tasks", method="POST", headers={"Content-Type": "application/json"})
    assert resp["status"] == 503
    assert _posts_received(host) - before == 1


def test_503_answers_never_take_the_servers_out(host):
    # During a cutover every write to a frozen service answers 503: that is an answer, not a server failure.
    # Were 503 counted (proxy_next_upstream http_503), a few of them would mark both servers down and nginx
    # would answer everything with 502 "no live upstreams" for fail_timeout.
    for _ in range(8):
        resp = _http(host, "/imaging/api/v1/tasks", method="POST", headers={"Content-Type": "application/json"})
        assert resp["status"] == 503
    statuses = [_http(host, "/imaging/api/v1/health")["status"] for _ in range(10)]
    assert statuses == [200] * 10
    assert "no live upstreams" not in host.check_output("tail -n 50 /var/log/nginx/radiology.error.log || true")


# Sends concurrent POSTs, each on its own connection (HTTPS, verified, logged in), and prints their statuses in one
# JSON list.
_CONCURRENT_POSTS = r"""
import json, ssl, sys, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, count, delay, ca_file, auth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=ca_file)
def post(_):
    req = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Content-Type": "application/json", "X-Standin-Delay": delay, "Authorization": auth})
    try:
        return urllib.request.urlopen(req, timeout=30, context=context).status
    except urllib.error.HTTPError as e:
        return e.code
with ThreadPoolExecutor(count) as pool:
    print(json.dumps(list(pool.map(post, range(count)))))
"""


def _concurrent_posts(host, count, delay):
    url = "https://127.0.0.1/imaging/api/v1/analysis/tasks"
    result = host.run("python3 -c %s %s %s %s %s %s", _CONCURRENT_POSTS, url, str(count), str(delay), CA_FILE, BASIC)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_a_pool_that_was_all_down_serves_every_write_once_back(host):
    # The cutover's interrupted-controller step: the new service had been stopped on every app host (nginx marked
    # both servers failed in every worker), and minutes later users were switched onto it. With only
    # health-checked servers, nginx let one probing request through per server and worker and answered every
    # other write 502 "no live upstreams" until a probe came back.
    fail_timeout = int(
        re.search(r"fail_timeout=(\d+)s", host.file("/etc/nginx/sites-available/radiology.conf").content_string)[1]
    )
    standins = "standin-imaging-a standin-imaging-b"
    assert host.run(f"systemctl stop {standins}").rc == 0
    try:
        while_down = _concurrent_posts(host, 40, 0)
    finally:
        assert host.run(f"systemctl start {standins}").rc == 0
    assert set(while_down) == {502}, while_down
    host.run(f"sleep {fail_timeout + 1}")
    log_lines_before = len(host.file("/var/log/nginx/radiology.error.log").content_string.splitlines())
    # Each write takes a second to answer, as a first request to a service that just started may.
    statuses = _concurrent_posts(host, 30, 1)
    new_errors = host.file("/var/log/nginx/radiology.error.log").content_string.splitlines()[log_lines_before:]
    assert statuses == [503] * 30, f"statuses {sorted(statuses)}; nginx: {new_errors[-3:]}"
    assert not [line for line in new_errors if "no live upstreams" in line]


def test_imaging_api_survives_one_instance_down(host):
    assert host.run("systemctl stop standin-imaging-b").rc == 0
    try:
        statuses = [_http(host, "/imaging/api/v1/health")["status"] for _ in range(10)]
    finally:
        host.run("systemctl start standin-imaging-b")
    assert statuses == [200] * 10


def test_request_id_passed_through_or_made(host):
    doc = json.loads(_http(host, "/legacy/api/v1/health", headers={"X-Request-ID": "molecule-req-1"})["body"])
    assert doc["request_id"] == "molecule-req-1"
    doc = json.loads(_http(host, "/imaging/api/v1/health")["body"])
    assert re.fullmatch(r"[0-9a-f]{32}", doc["request_id"])


def test_security_headers_on_pages_and_apis(host):
    for path in ("/", "/assets/app-3f2a9c.js", "/legacy/api/v1/health", "/imaging/api/v1/health"):
        headers = _http(host, path)["headers"]
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert "server" not in headers or headers["server"] == "nginx", path


def test_cors_for_allowed_origin(host):
    headers = _http(host, "/imaging/api/v1/health", headers={"Origin": ALLOWED_ORIGIN})["headers"]
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "X-Backend" in headers["access-control-expose-headers"]
    assert "Origin" in headers["vary"]


def test_cors_preflight_for_allowed_origin(host):
    resp = _http(
        host,
        "/legacy/api/v1/tasks",
        method="OPTIONS",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert resp["status"] == 204
    assert resp["headers"]["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in resp["headers"]["access-control-allow-methods"]


def test_no_cors_for_other_origin(host):
    # The stand-in backend sends "Access-Control-Allow-Origin: *"; nginx must hide it.
    for path in ("/legacy/api/v1/health", "/imaging/api/v1/health"):
        headers = _http(host, path, headers={"Origin": "https://evil.example.org"})["headers"]
        assert "access-control-allow-origin" not in headers, path
        assert "access-control-allow-methods" not in headers, path


def test_access_log_records_upstream_timing(host):
    _http(host, "/legacy/api/v1/health", headers={"X-Request-ID": "molecule-log-1"})
    log = host.file("/var/log/nginx/radiology.access.log").content_string
    line = next(line for line in log.splitlines() if "request_id=molecule-log-1" in line)
    assert "upstream=127.0.0.1:18000" in line
    assert re.search(r"upstream_response_time=\d+\.\d+", line)


def test_access_log_keeps_no_query_string(host):
    # Searches carry patient names and identifiers in their query strings: the log keeps the path only (as the
    # client sent it, before the API locations rewrite it), with method and protocol, and the referring page
    # without its query either.
    _http(
        host,
        "/legacy/api/v1/studies?patient_name=Jane+Doe&patient_id=PID-4711",
        headers={"X-Request-ID": "molecule-log-2", "Referer": "https://127.0.0.1/studies?q=Jane+Doe"},
    )
    log = host.file("/var/log/nginx/radiology.access.log").content_string
    line = next(line for line in log.splitlines() if "request_id=molecule-log-2" in line)
    assert '"GET /legacy/api/v1/studies HTTP/1.1" 200 ' in line, line
    assert '"https://127.0.0.1/studies"' in line, line
    assert "?" not in line, line
    assert "Jane" not in line and "PID-4711" not in line, line
    # The user nginx checked, where the combined format has it.
    assert line.startswith(f"127.0.0.1 - {USER} ["), line
    assert "upstream=127.0.0.1:18000" in line


def test_admin_paths_answered_404_by_nginx_alone(host):
    # The services' operator-only /api/v1/admin/… endpoints trust loopback clients, which nginx is on a shared
    # host: they must never be reachable through nginx, whatever the spelling.
    paths = [
        "/legacy/api/v1/admin/snapshot",
        "/imaging/api/v1/admin/tasks/sync",
        "/legacy/api/v1/ADMIN/snapshot",
        "/imaging/api/v1/Admin",
        "/legacy/api/v1/%61dmin/snapshot",
        "/legacy/api/v1/%2561dmin/../admin/snapshot",
        "/legacy/api/v1//admin/snapshot",
        "/imaging/api/v1/studies/../admin/tasks/sync",
        "/imaging/api/v1/studies%2F..%2Fadmin%2Ftasks%2Fsync",
        "/imaging/api/v1/x/admin/y",
        "/legacy/api/v1/admin/snapshot?path=/tmp/x.duckdb",
    ]
    before = _backend_requests(host)
    for path in paths:
        for method in ("GET", "POST"):
            resp = _http(host, path, method=method, headers={"Content-Type": "application/json"})
            _contract_error(resp, 404, "not_found")
    assert _backend_requests(host) == before
    # A path that only starts with "admin" is an ordinary API path.
    assert json.loads(_http(host, "/legacy/api/v1/administrations")["body"])["path"] == "/api/v1/administrations"


def test_unknown_host_gets_no_answer(host):
    before = _backend_requests(host)
    for request in (
        r"GET /nginx-health HTTP/1.1\r\nHost: other.example.org\r\n\r\n",
        r"GET /legacy/api/v1/health HTTP/1.1\r\nHost: 10.0.0.99\r\n\r\n",
        r"POST /imaging/api/v1/tasks HTTP/1.1\r\nHost: other.example.org\r\nContent-Length: 2\r\n\r\n{}",
        # HTTP/1.0 allows a request without Host: it gets no answer either.
        r"GET /legacy/api/v1/health HTTP/1.0\r\n\r\n",
    ):
        assert _raw(host, request)["received"] == "", request
        # The same over TLS (verified, the site's name in SNI): only the Host header decides.
        auth_request = request.replace(r"\r\n\r\n", rf"\r\nAuthorization: {BASIC}\r\n\r\n", 1)
        assert _raw(host, auth_request, tls_name="localhost")["received"] == "", request
    assert _backend_requests(host) == before
    # HTTP/1.1 without Host is malformed: nginx's own 400, never the site.
    assert _raw(host, r"GET /legacy/api/v1/health HTTP/1.1\r\n\r\n")["received"].startswith("HTTP/1.1 400 ")
    assert _backend_requests(host) == before


def test_site_answers_on_its_names(host):
    # The default nginx_server_names: the inventory name (no ansible_host in the scenario), localhost and
    # 127.0.0.1, with or without the port.
    for name in ("molecule-nginx-web", "localhost", "127.0.0.1", "127.0.0.1:443"):
        assert _http(host, "/nginx-health", headers={"Host": name})["status"] == 200, name
        resp = _http(host, "/legacy/api/v1/health", headers={"Host": name})
        assert json.loads(resp["body"])["backend"] == "legacy", name
    config = host.file("/etc/nginx/sites-available/radiology.conf").content_string
    assert re.search(r"^\s*server_name molecule-nginx-web localhost 127\.0\.0\.1;$", config, re.MULTILINE)
    assert "return 444;" in config


def test_body_over_the_limit_is_413_in_the_contract_shape(host):
    # nginx_client_max_body_size is the default 10m (10 MiB).
    before = _backend_requests(host)
    for path in ("/imaging/api/v1/analysis/tasks", "/legacy/api/v1/analysis/tasks"):
        resp = _http(
            host, path, method="POST", headers={"Content-Type": "application/json"}, body_size=11 * 1024 * 1024
        )
        _contract_error(resp, 413, "payload_too_large")
    assert _backend_requests(host) == before


def test_client_cannot_speak_for_nginx(host):
    # X-Remote-User is nginx's alone: the user whose password nginx checked, never the client's claim; X-Forwarded-For
    # and X-Real-IP are replaced, not appended to.
    for path in ("/legacy/api/v1/health", "/imaging/api/v1/health"):
        doc = json.loads(
            _http(
                host,
                path,
                headers={"X-Remote-User": "mallory", "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"},
            )["body"]
        )
        headers = doc["headers"]
        assert headers["x-remote-user"] == USER, (path, headers)
        assert headers["x-forwarded-for"] == "127.0.0.1", (path, headers)
        assert headers["x-real-ip"] == "127.0.0.1", (path, headers)
    # A user nginx does not know, with any password, gets nothing.
    mallory = "Basic " + base64.b64encode(b"mallory:secret").decode()
    before = _backend_requests(host)
    assert _http(host, "/legacy/api/v1/health", headers={"Authorization": mallory})["status"] == 401
    assert _backend_requests(host) == before
    log = host.file("/var/log/nginx/radiology.access.log").content_string
    assert not [line for line in log.splitlines() if " - mallory [" in line]


def test_plain_http_answers_only_a_redirect_to_https(host):
    before = _backend_requests(host)
    for path in ("/", "/studies?patient_id=PID-1", "/legacy/api/v1/health", "/imaging/api/v1/analysis/tasks"):
        for method in ("GET", "POST"):
            resp = _http(host, path, method=method, port=80, headers={"Host": "localhost"})
            assert resp["status"] == 301, (path, method, resp)
            assert resp["headers"]["location"] == f"https://localhost{path}", resp
            assert "molecule-r1" not in resp["body"] and "backend" not in resp["body"], resp
    assert _backend_requests(host) == before


# Connects with exactly one TLS version (the client allows old ones: any refusal is the server's) and prints the
# version agreed or the error.
_TLS_VERSION = r"""
import json, socket, ssl, sys
version = getattr(ssl.TLSVersion, sys.argv[1])
context = ssl.create_default_context(cafile="/usr/local/share/molecule-ca.crt")
context.minimum_version = context.maximum_version = version
context.set_ciphers("ALL:@SECLEVEL=0")
try:
    with socket.create_connection(("127.0.0.1", 443), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            print(json.dumps({"version": tls.version()}))
except (ssl.SSLError, OSError) as e:
    print(json.dumps({"error": str(e)}))
"""


def test_only_tls_1_2_and_1_3(host):
    def connect(version):
        result = host.run("python3 -c %s %s", _TLS_VERSION, version)
        assert result.rc == 0, result.stderr
        return json.loads(result.stdout)

    assert connect("TLSv1_3") == {"version": "TLSv1.3"}
    assert connect("TLSv1_2") == {"version": "TLSv1.2"}
    for old in ("TLSv1_1", "TLSv1"):
        outcome = connect(old)
        assert "version" not in outcome, (old, outcome)
    config = host.file("/etc/nginx/sites-available/radiology.conf").content_string
    assert config.count("ssl_protocols TLSv1.2 TLSv1.3;") == 2
    assert "ssl_stapling off;" in config


def test_hsts_on_every_https_answer(host):
    answers = {
        "page": _http(host, "/"),
        "asset": _http(host, "/assets/app-3f2a9c.js"),
        "api": _http(host, "/legacy/api/v1/health"),
        "not logged in": _http(host, "/imaging/api/v1/health", auth=False),
        "admin 404": _http(host, "/legacy/api/v1/admin/snapshot"),
    }
    for what, resp in answers.items():
        assert resp["headers"]["strict-transport-security"] == "max-age=63072000", (what, resp["headers"])


def test_no_credentials_no_page_and_no_api(host):
    before = _backend_requests(host)
    wrong = "Basic " + base64.b64encode(f"{USER}:wrong-password".encode()).decode()
    for headers in ({}, {"Authorization": wrong}):
        page = _http(host, "/", headers=headers, auth=False)
        assert page["status"] == 401, page
        assert "molecule-r1" not in page["body"]
        assert page["headers"]["www-authenticate"] == 'Basic realm="Radiology"', page["headers"]
        for path in ("/assets/app-3f2a9c.js", "/build-info.json"):
            assert _http(host, path, headers=headers, auth=False)["status"] == 401, path
        for path in ("/legacy/api/v1/health", "/imaging/api/v1/studies?patient_id=PID-1"):
            resp = _http(host, path, headers=headers, auth=False)
            _contract_error(resp, 401, "unauthorized")
            assert resp["headers"]["www-authenticate"].startswith("Basic "), resp["headers"]
    assert _backend_requests(host) == before
    # Both users of the list get in, the second one too.
    second = "Basic " + base64.b64encode(b"molecule-second:second-molecule-password-42").decode()
    assert _http(host, "/", headers={"Authorization": second})["status"] == 200


def test_credentials_at_rest(host):
    htpasswd = host.file("/etc/nginx/radiology.htpasswd")
    assert (htpasswd.user, htpasswd.group, htpasswd.mode) == ("root", "www-data", 0o640)
    lines = htpasswd.content_string.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [USER, "molecule-second"]
    assert all(re.fullmatch(r"[^:]+:\$2b\$05\$[./A-Za-z0-9]{53}", line) for line in lines), lines
    assert "with spaces" not in htpasswd.content_string
    tls_dir = host.file("/etc/nginx/tls")
    assert (tls_dir.user, tls_dir.mode) == ("root", 0o700)
    keys = host.run("ls /etc/nginx/tls/").stdout.split()
    assert len([k for k in keys if k.endswith(".key")]) == 1, keys
    assert len([k for k in keys if k.endswith(".crt")]) == 1, keys
    key = host.file("/etc/nginx/tls/" + next(k for k in keys if k.endswith(".key")))
    assert (key.user, key.mode) == ("root", 0o600)


# Sends COUNT GETs from WORKERS threads at once (HTTPS, verified, logged in) and prints every answer's status,
# Retry-After, content type and body.
_BURST = r"""
import json, ssl, sys, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, count, workers, ca_file, auth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=ca_file)
def get(_):
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": auth}), timeout=30,
                                      context=context)
    except urllib.error.HTTPError as e:
        resp = e
    return [resp.status, resp.headers.get("Retry-After"), resp.headers.get("Content-Type"), resp.read().decode()]
with ThreadPoolExecutor(workers) as pool:
    print(json.dumps(list(pool.map(get, range(count)))))
"""


def test_rate_limit_answers_429_in_the_contract_shape(host):
    # The scenario lowers the limit (molecule.yml: 50 requests/s, burst 100) so that a burst from one address
    # goes over it; the other tests stay far below.
    url = "https://127.0.0.1/imaging/api/v1/health"
    result = host.run("python3 -c %s %s %s %s %s %s", _BURST, url, "600", "50", CA_FILE, BASIC)
    assert result.rc == 0, result.stderr
    answers = json.loads(result.stdout)
    # Let the bucket drain before anything else runs.
    host.run("sleep 3")
    statuses = {status for status, _, _, _ in answers}
    assert statuses == {200, 429}, statuses
    limited = [answer for answer in answers if answer[0] == 429]
    for _, retry_after, content_type, body in limited:
        assert retry_after == "1"
        assert content_type == "application/json"
        assert json.loads(body) == {
            "error": {"code": "rate_limited", "message": "Too many requests. Retry shortly.", "details": []}
        }
    assert len(limited) >= 100, len(limited)
    config = host.file("/etc/nginx/sites-available/radiology.conf").content_string
    assert "limit_req_zone $binary_remote_addr zone=radiology_api:10m rate=50r/s;" in config
    assert config.count("limit_req zone=radiology_api burst=100 nodelay;") == 2
