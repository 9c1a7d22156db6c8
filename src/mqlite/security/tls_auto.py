"""`--tls auto`: a local certificate authority and a server certificate, as mkcert makes.

`ensure(directory, hosts)` keeps four PEM files in `directory` (created 0700):
`ca.pem` (the CA certificate clients trust), `ca-key.pem`, `server.pem` (the server
certificate followed by the CA, a full chain) and `server-key.pem` (keys 0600). They
are made on first use and reused on later starts; the server certificate is made
again when it expires within a day or does not name every host asked for; the CA
(valid ten years) is kept, so clients that trust it keep trusting the server.
Names: `localhost`, `127.0.0.1`, `::1` and the configured host (an IP address becomes an
IP SAN; a wildcard address `0.0.0.0`/`::` adds this machine's host name instead).
Keys are ECDSA P-256, made with `cryptography`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity Apple's TLS clients accept
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


def hosts_for(host: str) -> list[str]:
    """The names the server certificate must carry for a server on `host`."""
    names = list(DEFAULT_HOSTS)
    extra = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    if extra and extra not in names:
        names.append(extra)
    return names


def ensure(directory: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """(CA cert, server chain, server key) in `directory`, made or reused."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_pem, ca_key_pem = directory / "ca.pem", directory / "ca-key.pem"
    cert_pem, key_pem = directory / "server.pem", directory / "server-key.pem"
    now = dt.datetime.now(dt.UTC)
    if ca_pem.exists() and ca_key_pem.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_pem.read_bytes(), password=None)
        fresh_ca = False
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write(ca_key_pem, _key_bytes(ca_key), 0o600)
        _write(ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        fresh_ca = True
    if fresh_ca or not _server_ok(cert_pem, key_pem, hosts, ca_cert, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_certificate(key, ca_key, ca_cert, hosts, now)  # type: ignore[arg-type]
        _write(key_pem, _key_bytes(key), 0o600)
        chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
        _write(cert_pem, chain, 0o644)
    return ca_pem, cert_pem, key_pem


def _server_ok(cert_pem: Path, key_pem: Path, hosts: list[str], ca: x509.Certificate, now: dt.datetime) -> bool:
    if not cert_pem.exists() or not key_pem.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    named = {str(v) for v in sans.get_values_for_type(x509.IPAddress)} | set(sans.get_values_for_type(x509.DNSName))
    wanted = {str(ipaddress.ip_address(h)) if _is_ip(h) else h for h in hosts}
    return (cert.issuer == ca.subject and wanted <= named
            and cert.not_valid_after_utc > now + dt.timedelta(days=1))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mqlite development CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"mqlite local CA {socket.gethostname()}"[:64]),
    ])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey,
                        ca: x509.Certificate, hosts: list[str], now: dt.datetime) -> x509.Certificate:
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts
    ]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mqlite development certificate"),
                                 x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
