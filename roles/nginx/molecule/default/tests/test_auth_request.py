"""The auth_request mode on molecule-nginx-sso: nginx asks a stand-in SSO verifier (files/standin_verifier.py, on
127.0.0.1:18009) about every request; tokens molecule-token-alice and molecule-token-bob are its users."""

import json

from test_web import _contract_error, _http

testinfra_hosts = ["molecule-nginx-sso"]

ALICE = {"Authorization": "Bearer molecule-token-alice"}


def _verifier(host):
    return json.loads(_http(host, "/_last", port=18009)["body"])


def test_a_known_session_gets_in_and_is_named_to_the_backends_and_the_log(host):
    for headers, user in ((ALICE, "alice"), ({"Cookie": "theme=dark; sso=molecule-token-bob"}, "bob")):
        page = _http(host, "/", headers=headers, auth=False)
        assert page["status"] == 200 and "molecule-r1 index" in page["body"], page
        doc = json.loads(
            _http(
                host,
                "/legacy/api/v1/studies?patient_name=Jane+Doe",
                headers={**headers, "X-Remote-User": "mallory", "X-Request-ID": f"sso-{user}"},
                auth=False,
            )["body"]
        )
        assert doc["headers"]["x-remote-user"] == user, doc["headers"]
        log = host.file("/var/log/nginx/radiology.access.log").content_string
        line = next(line for line in log.splitlines() if f"request_id=sso-{user}" in line)
        assert line.startswith(f"127.0.0.1 - {user} ["), line
        assert "Jane" not in line


def test_the_verifier_sees_headers_but_no_body_and_no_query(host):
    _http(host, "/imaging/api/v1/studies?patient_id=PID-4711", headers=ALICE, auth=False)
    last = _verifier(host)["last"]
    assert last["authorization"] == "Bearer molecule-token-alice"
    assert last["x-original-uri"] == "/imaging/api/v1/studies", last
    assert last["x-original-method"] == "GET"
    assert "PID-4711" not in json.dumps(last)
    assert last.get("content-length", "") == "", last


def test_no_session_no_api_and_pages_go_to_the_login(host):
    before = _verifier(host)["count"]
    for headers in ({}, {"Authorization": "Bearer stolen-or-expired"}):
        resp = _http(host, "/imaging/api/v1/health", headers=headers, auth=False)
        _contract_error(resp, 401, "unauthorized")
        assert resp["headers"]["www-authenticate"] == 'Bearer realm="molecule-sso"', resp["headers"]
        # Back to the page after the login, without its query string (it may carry patient data).
        page = _http(host, "/studies?patient_name=Jane", headers=headers, auth=False)
        assert page["status"] == 302, page
        assert page["headers"]["location"] == "https://sso.hospital.test/login?rd=https://127.0.0.1/studies", page
    assert _verifier(host)["count"] - before == 4


def test_a_verifier_that_does_not_answer_lets_nobody_in(host):
    assert host.run("systemctl stop standin-verifier").rc == 0
    try:
        resp = _http(host, "/legacy/api/v1/health", headers=ALICE, auth=False)
    finally:
        assert host.run("systemctl start standin-verifier").rc == 0
    assert resp["status"] == 500, resp
    assert "backend" not in resp["body"]


def test_health_needs_no_session(host):
    assert _http(host, "/nginx-health", auth=False)["status"] == 200
