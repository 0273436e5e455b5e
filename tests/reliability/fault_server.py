"""A loopback HTTP(S) server that misbehaves on cue, for the network fault cases.

Each path answers from a script of `Answer`s, one per request, the last repeating; a test heals a
fault by scripting the path anew. Besides status codes it can stay silent past the client's
timeout, reset the connection mid-body (a real RST), dribble a body or the headers forever, speak garbage instead
of HTTP, and serve TLS with a certificate nobody trusts. GET and POST (Reddit's token endpoint) alike.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before the status line
    reset_after: int | None = None  # send this many body bytes of the declared length, then RST
    dribble: float | None = None  # one body byte per this many seconds, forever (slow-loris)
    dribble_headers: float | None = None  # the status line, then one header byte per this many seconds, forever
    garbage: bytes | None = None  # written instead of an HTTP response, then the connection closes


class FaultServer:
    """Use as a context manager; `url(path)` for its address, `hits(path)` for how often a path was asked."""

    def __init__(self, routes: dict[str, Answer | list[Answer]] | None = None, *, tls: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self.requests: list[str] = []
        for path, answers in (routes or {}).items():
            self.script(path, answers)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.scheme = "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def script(self, path: str, answers: Answer | list[Answer]) -> None:
        """From now on, answer `path` with these (one per request, the last repeating)."""
        with self._lock:
            self._routes[path] = list(answers) if isinstance(answers, list) else [answers]

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p in self.requests if p == path)

    def _next(self, path: str) -> Answer:
        with self._lock:
            self.requests.append(path)
            script = self._routes.get(path)
            if not script:
                return Answer(404, b"not found")
            return script.pop(0) if len(script) > 1 else script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                answer = server._next(urlsplit(self.path).path)
                self.close_connection = True
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self._write(answer)
                except OSError:
                    pass  # the client gave up, as it should

            def _write(self, answer: Answer) -> None:
                if answer.garbage is not None:
                    self.wfile.write(answer.garbage)
                    return
                if answer.dribble_headers is not None:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Dribble: ")
                    while True:  # every byte resets the client's read timeout
                        self.wfile.write(b"a")
                        time.sleep(answer.dribble_headers)
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Connection", "close")
                if answer.dribble is None:
                    self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.dribble is not None:
                    while True:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(answer.dribble)
                if answer.reset_after is not None:
                    self.wfile.write(answer.body[: answer.reset_after])
                    self.wfile.flush()
                    time.sleep(0.05)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()  # linger 0: the peer gets a TCP RST, not a clean FIN
                    return
                self.wfile.write(answer.body)

            do_GET = _serve
            do_POST = _serve

        return Handler

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (which no client trusts), and the certificate's file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
