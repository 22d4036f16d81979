"""A throwaway Redis-compatible server on a loopback port, for tests and the benchmark.

Runs Debian's `redis-server` (or `valkey-server`, whichever is installed; the
event bus speaks only PUBLISH/SUBSCRIBE, which both implement the same way)
in the foreground with no persistence, in a temporary directory. `stop()`
and `start()` again reuse the same port, so a client sees the server go away
and come back, as in an outage. With `tls=True` it listens for TLS only,
with a certificate signed by a private CA made here by `openssl` (`ca_file`).

Not in any image: the deployed bus is each target's managed Valkey/Redis or
its own container.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

BINARIES = ("valkey-server", "redis-server")


def find_binary() -> str | None:
    for name in BINARIES:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """`with RedisServer() as server: server.url` — `redis://[:password@]127.0.0.1:<port>/0`."""

    def __init__(
        self, port: int = 0, password: str | None = None, binary: str | None = None, tls: bool = False
    ) -> None:
        found = binary or find_binary()
        if found is None:
            raise FileNotFoundError(
                "no redis-server or valkey-server on PATH (apt-get install redis-server)"
            )
        self.binary = found
        self.port = port or _free_port()
        self.password = password
        self.tls = tls
        self.workdir = Path(tempfile.mkdtemp(prefix="dixi-redis-"))
        if tls:
            self._make_certificates()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    @property
    def ca_file(self) -> str:
        """The private CA that signed the server's certificate (with tls=True)."""
        return str(self.workdir / "ca.pem")

    def _make_certificates(self) -> None:
        """A private CA and a server certificate for 127.0.0.1, like Memorystore's per-instance CA."""
        d = self.workdir

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

        # The extensions Python 3.13's default context insists on
        # (ssl.VERIFY_X509_STRICT): a critical CA constraint, key usages, and
        # an authority key id on the server's certificate.
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dixi test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", "ca.key", "-out", "ca.pem")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", "server.key", "-out", "server.csr")
        (d / "san.ext").write_text(
            "subjectAltName=IP:127.0.0.1\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "authorityKeyIdentifier=keyid\n"
            "subjectKeyIdentifier=hash\n"
        )
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", "san.ext", "-out", "server.pem")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> RedisServer:
        listen = (
            ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no",
             "--tls-cert-file", str(self.workdir / "server.pem"),
             "--tls-key-file", str(self.workdir / "server.key"),
             "--tls-ca-cert-file", self.ca_file]
            if self.tls
            else ["--port", str(self.port)]
        )
        argv = [
            self.binary,
            *listen,
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "server.log"),
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._answers_ping():
            if time.monotonic() > deadline or self._proc.poll() is not None:
                log = (self.workdir / "server.log")
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.stop()
                raise RuntimeError(f"{self.binary} did not start on port {self.port}:\n{tail}")
            time.sleep(0.02)
        return self

    def _answers_ping(self) -> bool:
        if self.tls:
            return self._accepts_tls()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                # An inline command; with a password the server answers -NOAUTH, which is still an answer.
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def _accepts_tls(self) -> bool:
        import ssl

        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw, \
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
