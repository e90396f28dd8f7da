"""A real HTTP server standing in for one API instance in the nginx scenario.

It answers every GET under /api/v1/ with a JSON document naming its backend and instance, the path it
received, the X-Request-ID nginx passed and every request header it got (lower-cased names, repeated ones
joined), and sets a permissive CORS header that nginx must hide.
Every POST is counted and answered 503 (as a write-frozen backend would), so the scenario can prove that
nginx never sends a POST to a second server; GET /api/v1/_posts returns the count, and the count of every
request received (itself excluded), so the scenario can prove that nginx answered a request alone. A POST
with the header X-Standin-Delay: SECONDS is answered that much later (a slow first request after a restart).
"""

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(backend: str, instance: str) -> type[BaseHTTPRequestHandler]:
    posts = {"count": 0}
    requests = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", backend)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def _headers(self) -> dict[str, str]:
            seen: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                seen[key] = f"{seen[key]}, {value}" if key in seen else value
            return seen

        def do_GET(self) -> None:
            if self.path == "/api/v1/_posts":
                self._answer(200, {"instance": instance, "posts": posts["count"], "requests": requests["count"]})
                return
            requests["count"] += 1
            if not self.path.startswith("/api/v1/"):
                self._answer(404, {"error": {"code": "not_found", "message": self.path}})
                return
            self._answer(
                200,
                {
                    "status": "ok",
                    "backend": backend,
                    "instance": instance,
                    "path": self.path,
                    "request_id": self.headers.get("X-Request-ID"),
                    "headers": self._headers(),
                },
            )

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            requests["count"] += 1
            posts["count"] += 1
            time.sleep(float(self.headers.get("X-Standin-Delay") or 0))
            self._answer(503, {"error": {"code": "writes_frozen", "message": "writes are paused"}})

        def log_message(self, format: str, *args: object) -> None:
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.backend, args.instance))
    server.serve_forever()


if __name__ == "__main__":
    main()
