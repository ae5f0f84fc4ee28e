"""A health-check target: `200 ok` on GET /health, 404 elsewhere.

Run by the harness as `python target.py --host 127.0.0.11 --port PORT`; prints `ready` once it
listens, then serves until killed. SIGKILL makes it refuse connections; SIGSTOP makes it hang
(the kernel still completes TCP handshakes into the listen backlog, but nothing answers).
"""

from __future__ import annotations

import argparse
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = self.path.split("?", 1)[0] == "/health"
        body = b"ok\n" if found else b"not found\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: a check per second per checker


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a hung target keeps accepting handshakes for a long while
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn): no DNS from here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = Server((args.host, args.port), Handler)
    print("ready", flush=True)
    server.serve_forever(poll_interval=0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
