"""TLS through the real fetcher on 127.0.0.1: certificates are always verified
(no silent downgrade), and a trusted certificate works."""
from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from badserver import fast_settings, fetch_sync, response_bytes
from scraper.errors import ConnectError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return str(crt), str(key)


@pytest.fixture
def https_server(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    sock = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(response_bytes(200, {"Content-Type": "text/html"},
                                               b"<html><p>secret page</p></html>"))
            except (OSError, ssl.SSLError):
                pass
    threading.Thread(target=serve, daemon=True).start()
    yield f"https://127.0.0.1:{sock.getsockname()[1]}/"
    stop.set()
    sock.close()


def test_self_signed_certificate_refused(https_server):
    result = fetch_sync(https_server, fast_settings(retries=0))
    assert isinstance(result, ConnectError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(result) or "certificate" in str(result).lower()


def test_trusted_certificate_fetches(https_server, cert):
    page = fetch_sync(https_server, fast_settings(ca_bundle=cert[0]))
    assert page.status == 200 and "secret page" in page.html
