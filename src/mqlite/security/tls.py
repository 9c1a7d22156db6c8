"""The server's TLS: one `ssl.SSLContext` for every listener, from `--tls-cert/--tls-key`
(optionally `--tls-ca` for client certificates) or from `--tls auto`.

`prepare(settings)` (once, at start) turns `tls = "auto"` into certificate paths (made by
`tls_auto` under `<data-dir>/tls`, or a temporary directory removed at exit for
`--memory`), logs how to trust the CA, and checks the files so that a bad one is one
line naming it: unreadable or not PEM, expired or not yet valid, a key that does not
match the certificate, an unusable CA file. `server_context(settings)` is the context
the listeners wrap their sockets with (None when TLS is off), built once per set of
files. TLS 1.2 is the minimum; with `tls_ca`, clients must present a certificate
signed by one of its CAs (`CERT_REQUIRED`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import shutil
import ssl
import tempfile
from pathlib import Path

from mqlite.errors import MqliteError
from mqlite.settings import Settings

log = logging.getLogger("mqlite.security")

_contexts: dict[tuple[str, str, str | None], ssl.SSLContext] = {}


class TlsError(MqliteError):
    """A TLS setting or file is unusable; the message names the file."""


def enabled(settings: Settings) -> bool:
    return settings.tls == "auto" or settings.tls_cert is not None


def prepare(settings: Settings) -> Settings:
    """Resolve `--tls auto` to files and check the TLS files; see module docstring."""
    if settings.tls == "auto":
        if settings.tls_cert is not None:
            raise TlsError("--tls auto and --tls-cert both given: choose one")
        from mqlite.security import tls_auto

        if settings.data_dir is None:
            directory = Path(tempfile.mkdtemp(prefix="mqlite-tls-"))
            atexit.register(shutil.rmtree, directory, True)
        else:
            directory = settings.data_dir / "tls"
        ca, cert, key = tls_auto.ensure(directory, tls_auto.hosts_for(settings.host))
        log.info("tls auto: server certificate %s signed by the local CA %s", cert, ca)
        log.info("tls auto: to trust it, point clients at the CA (boto3 verify=%s, AWS_CA_BUNDLE, "
                 "ssl.cafile / ssl_ca_certs, SSL_CERT_FILE) or install it: sudo cp %s "
                 "/usr/local/share/ca-certificates/mqlite.crt && sudo update-ca-certificates", ca, ca)
        settings = settings.replace(tls=None, tls_cert=cert, tls_key=key)
    if settings.tls_cert is None and settings.tls_key is None:
        if settings.tls_ca is not None:
            raise TlsError("--tls-ca needs --tls-cert and --tls-key (or --tls auto)")
        return settings
    if settings.tls_cert is None or settings.tls_key is None:
        raise TlsError("--tls-cert and --tls-key go together")
    server_context(settings)  # loads and checks every file now, not at the first client
    return settings


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """The listeners' SSL context, or None when TLS is off (call `prepare` first)."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    key = (str(settings.tls_cert), str(settings.tls_key), None if settings.tls_ca is None else str(settings.tls_ca))
    context = _contexts.get(key)
    if context is None:
        context = _contexts[key] = _build(settings.tls_cert, settings.tls_key, settings.tls_ca)
    return context


def _build(cert: Path, key: Path, ca: Path | None) -> ssl.SSLContext:
    _check_certificate(cert, "--tls-cert")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise TlsError(f"--tls-key {key} does not match the certificate in --tls-cert {cert}") from None
        raise TlsError(f"--tls-key {key}: not a usable PEM private key for {cert} ({exc.reason or exc})") from None
    except OSError as exc:
        raise TlsError(f"--tls-key {key}: {exc.strerror or exc}") from None
    if ca is not None:
        _check_certificate(ca, "--tls-ca")
        try:
            context.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise TlsError(f"--tls-ca {ca}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def _check_certificate(path: Path, flag: str) -> None:
    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsError(f"{flag} {path}: {exc.strerror or exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TlsError(f"{flag} {path}: not a PEM certificate") from None
    now = dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc <= now:
        raise TlsError(f"{flag} {path}: certificate expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")
    if cert.not_valid_before_utc > now:
        raise TlsError(f"{flag} {path}: certificate not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC")
