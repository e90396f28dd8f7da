import sys
import urllib.request

import pytest
from radiology_testkit.servers import ServerStartError, free_port, serve


def test_serve_yields_base_url_and_stops_the_process():
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with serve(cmd, port, "/", env={}) as base_url:
        assert base_url == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base_url + "/") as response:
            assert response.status == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(base_url + "/", timeout=2)


def test_dying_server_reports_its_output():
    port = free_port()
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no database\\n'); sys.exit(3)"]
    with pytest.raises(ServerStartError, match="boom: no database"), serve(cmd, port, "/health", timeout=10):
        pass


def test_predicate_decides_readiness():
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with (
        pytest.raises(ServerStartError, match="not ready"),
        serve(cmd, port, "/", timeout=2, ready=lambda status, body: status == 418),
    ):
        pass
