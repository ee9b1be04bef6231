"""Throw-away TLS material for tests, made with the ``openssl`` CLI.

Why the CLI: it is on every machine of this kind (scripts/test.sh installs it), it needs no
Python dependency, and the registry (Go) and Python's ``ssl`` both accept what it makes.

The server certificate is signed by its own CA (not self-signed) and carries
``subjectAltName=IP:127.0.0.1,DNS:localhost`` plus the usual key identifiers, so strict
verifiers (Go, Python's ``VERIFY_X509_STRICT``) accept it for ``https://127.0.0.1:PORT``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TLSFiles", "make_tls_files", "run_openssl"]


@dataclass(frozen=True)
class TLSFiles:
    """Paths of a CA and of a server certificate it signed.

    ``cert_dir`` holds only ``ca.crt``: it is what ``skopeo --cert-dir`` (and docker's
    ``certs.d/<host>/``) wants. It must not hold the server key: containers/image treats a
    ``*.key`` without a matching ``*.cert`` as a broken client certificate and fails.
    """

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    cert_dir: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def run_openssl(*args: str, stdin: bytes | None = None) -> bytes:
    """Run ``openssl ARGS...`` (no shell) and return stdout; raise with stderr on failure."""
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError(
            "openssl is not installed; run scripts/test.sh, which installs it"
        )
    proc = subprocess.run(
        [exe, *args], input=stdin, capture_output=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"openssl {' '.join(args)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout


def make_tls_files(directory: Path, *, days: int = 2) -> TLSFiles:
    """Create a CA and a server certificate for 127.0.0.1/localhost under ``directory``.

    EC P-256 keys: key generation is instant, unlike RSA, and every client here supports them.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert_dir = directory / "certs.d"
    cert_dir.mkdir(exist_ok=True)
    ca_key = directory / "ca.key"
    ca_cert = cert_dir / "ca.crt"
    key = directory / "server.key"
    csr = directory / "server.csr"
    cert = directory / "server.crt"
    ext = directory / "server.ext"

    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run_openssl(
        "req", "-x509", *curve,
        "-keyout", str(ca_key), "-out", str(ca_cert),
        "-days", str(days), "-subj", "/CN=image-mirror test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    run_openssl(
        "req", "-new", *curve,
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost",
    )  # fmt: skip
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    run_openssl(
        "x509", "-req", "-in", str(csr),
        "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAserial", str(directory / "ca.srl"), "-CAcreateserial",
        "-out", str(cert), "-days", str(days), "-extfile", str(ext),
    )  # fmt: skip
    csr.unlink()
    return TLSFiles(
        ca_cert=ca_cert, ca_key=ca_key, cert=cert, key=key, cert_dir=cert_dir
    )
