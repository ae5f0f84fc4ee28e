"""Stand-ins for the example's regions: tiny health endpoints on this machine.

The bundled zones/gtm.example.test.yaml checks 127.0.0.1:8081 (eu-west, HTTP /healthz),
127.0.0.1:8082 (us-east, HTTP /healthz) and 127.0.0.1:8083 (ap-northeast, TCP connect).
Run this beside `gtm serve` (deploy/quickstart.sh does), then stop a region to watch gtm fail
over:  curl -X POST 127.0.0.1:8090/eu-west/down   (and .../up to bring it back).
Only the standard library: it runs before anything is installed.
"""

from __future__ import annotations

import http.server
import socketserver
import sys
import threading

REGIONS = {"eu-west": 8081, "us-east": 8082, "ap-northeast": 8083}
CONTROL_PORT = 8090
healthy = dict.fromkeys(REGIONS, True)
servers: dict[str, socketserver.ThreadingTCPServer] = {}


class Health(http.server.BaseHTTPRequestHandler):
    region = ""

    def do_GET(self) -> None:
        ok = healthy[self.region] and self.path == "/healthz"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n" if ok else b"down\n")

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per probe would drown the terminal


class Control(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        _, region, state = [*self.path.split("/"), "", ""][:3]
        if region not in REGIONS or state not in ("up", "down"):
            self.send_error(404, "POST /<region>/(up|down)")
            return
        healthy[region] = state == "up"
        if region == "ap-northeast":  # a TCP check: down means not accepting at all
            if state == "down" and region in servers:
                servers.pop(region).shutdown()
            elif state == "up" and region not in servers:
                start(region)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"{region} is {state}\n".encode())
        print(f"demo: {region} {state}", file=sys.stderr)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()


def serve(port: int, handler: type[http.server.BaseHTTPRequestHandler]) -> Server:
    server = Server(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start(region: str) -> None:
    handler = type(f"Health_{region}", (Health,), {"region": region})
    servers[region] = serve(REGIONS[region], handler)


def main() -> None:
    for region in REGIONS:
        start(region)
    serve(CONTROL_PORT, Control)
    print(f"demo targets: {REGIONS}, control on 127.0.0.1:{CONTROL_PORT}", file=sys.stderr)
    threading.Event().wait()


if __name__ == "__main__":
    main()
