"""A real HTTP server standing in for a site's SSO verifier (nginx's auth_request) in the nginx scenario.

GET /verify answers 200 with "X-Auth-User: <user>" when the request carries a known token, as
"Authorization: Bearer <token>" or as the cookie "sso=<token>"; otherwise 401 with a Bearer challenge. It keeps
the headers of the last request it was asked about; GET /_last returns them (lower-cased names) and the count of
verifications, so the scenario can prove what nginx sends it and that it was asked.
"""

import argparse
import json
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKENS = {"molecule-token-alice": "alice", "molecule-token-bob": "bob"}


def make_handler() -> type[BaseHTTPRequestHandler]:
    seen: dict = {"count": 0, "last": {}}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, document: dict, headers: dict[str, str]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _token(self) -> str:
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                return auth[len("Bearer ") :]
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            return cookie["sso"].value if "sso" in cookie else ""

        def do_GET(self) -> None:
            if self.path == "/_last":
                self._answer(200, seen, {})
                return
            seen["count"] += 1
            seen["last"] = {name.lower(): value for name, value in self.headers.items()}
            user = TOKENS.get(self._token())
            if user:
                self._answer(200, {"user": user}, {"X-Auth-User": user})
            else:
                self._answer(401, {"error": "no session"}, {"WWW-Authenticate": 'Bearer realm="molecule-sso"'})

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), make_handler()).serve_forever()


if __name__ == "__main__":
    main()
