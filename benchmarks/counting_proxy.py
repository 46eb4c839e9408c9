"""A loopback HTTP proxy that counts the bytes it relays to the client: HTTPS through CONNECT tunnels
(the package index) and plain HTTP GETs (the wheelhouse on loopback). benchmarks/build_times.py points
the builds at it (the docker CLI's proxy configuration, which both builders apply) to measure what a
build downloads.
"""
from __future__ import annotations

import http.server
import select
import socket
import socketserver
import threading
import urllib.parse
import urllib.request


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.bytes = 0
        self.requests = 0
        self.by_host: dict[str, int] = {}

    def add(self, n: int, host: str, request: bool = False) -> None:
        with self.lock:
            self.bytes += n
            self.requests += int(request)
            self.by_host[host] = self.by_host.get(host, 0) + n

    def take(self) -> tuple[int, int, dict]:
        """(bytes, requests, bytes by host) since the last take."""
        with self.lock:
            out = (self.bytes, self.requests, self.by_host)
            self.bytes = self.requests = 0
            self.by_host = {}
            return out


def _handler(counter: Counter):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_CONNECT(self):
            host, _, port = self.path.partition(":")
            try:
                upstream = socket.create_connection((host, int(port or 443)), timeout=30)
            except OSError:
                self.send_error(502)
                return
            counter.add(0, host, request=True)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            sockets = [self.connection, upstream]
            try:
                while True:
                    ready, _, _ = select.select(sockets, [], [], 60)
                    if not ready:
                        return
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        if sock is upstream:
                            counter.add(len(data), host)
                            self.connection.sendall(data)
                        else:
                            upstream.sendall(data)
            except OSError:
                return
            finally:
                upstream.close()

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            host = urllib.parse.urlsplit(self.path).netloc
            counter.add(0, host, request=True)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            request = urllib.request.Request(self.path, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=60) as resp:
                    body = resp.read()
                    status, reply_headers = resp.status, resp.headers
            except urllib.error.HTTPError as exc:
                body, status, reply_headers = exc.read(), exc.code, exc.headers
            except OSError:
                self.send_error(502)
                return
            counter.add(len(body), host)
            self.send_response(status)
            for key, value in reply_headers.items():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            if self.command == "HEAD":
                self.send_header("Content-Length", reply_headers.get("Content-Length", "0"))
                self.end_headers()
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def start() -> tuple[_Server, Counter, str]:
    """(server, counter, proxy URL); server.shutdown() stops it."""
    counter = Counter()
    server = _Server(("127.0.0.1", 0), _handler(counter))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counter, f"http://127.0.0.1:{server.server_address[1]}"
