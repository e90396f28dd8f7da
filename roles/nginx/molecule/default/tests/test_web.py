"""The nginx role's promises, checked on the converged web host (requests are made inside the container)."""

import json
import re

testinfra_hosts = ["molecule-nginx-web"]

ALLOWED_ORIGIN = "https://allowed.hospital.test"

# Makes one request with urllib and prints status, headers (lower-cased names, repeated ones joined) and body.
_CLIENT = r"""
import json, sys, urllib.error, urllib.request
method, url, headers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
data = b"{}" if method == "POST" else None
req = urllib.request.Request(url, data=data, method=method, headers=headers)
try:
    resp = urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    resp = e
out = {}
for name, value in resp.headers.items():
    out[name.lower()] = out[name.lower()] + ", " + value if name.lower() in out else value
print(json.dumps({"status": resp.status, "headers": out, "body": resp.read().decode()}))
"""


def _http(host, path, method="GET", headers=None, port=80):
    url = f"http://127.0.0.1:{port}{path}"
    result = host.run("python3 -c %s %s %s %s", _CLIENT, method, url, json.dumps(headers or {}))
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


def test_listens_on_port_80(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_nginx_health(host):
    resp = _http(host, "/nginx-health")
    assert resp["status"] == 200
    assert json.loads(resp["body"]) == {"status": "ok"}


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


# Sends concurrent POSTs, each on its own connection, and prints their statuses in one JSON list.
_CONCURRENT_POSTS = r"""
import json, sys, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, count, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def post(_):
    req = urllib.request.Request(url, data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json", "X-Standin-Delay": delay})
    try:
        return urllib.request.urlopen(req, timeout=30).status
    except urllib.error.HTTPError as e:
        return e.code
with ThreadPoolExecutor(count) as pool:
    print(json.dumps(list(pool.map(post, range(count)))))
"""


def _concurrent_posts(host, count, delay):
    url = "http://127.0.0.1/imaging/api/v1/analysis/tasks"
    result = host.run("python3 -c %s %s %s %s", _CONCURRENT_POSTS, url, str(count), str(delay))
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
