"""SNS message signatures: SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA).

Owns the broker's SNS signing identity: an RSA key and a self-signed X.509 certificate,
generated once per data directory and stored there (`<data_dir>/sns/signing-key.pem`,
`signing-cert.pem`; in memory for --memory brokers), served at the SigningCertURL so a
subscriber that verifies SNS signatures (AWS SDK validators, `sns-validator`) can
verify ours.

The string to sign is AWS's canonical form: for each signed field, in this order and
only when present, `<Name>\\n<value>\\n`:
    Notification:                       Message, MessageId, Subject, Timestamp, TopicArn, Type
    SubscriptionConfirmation/
    UnsubscribeConfirmation:            Message, MessageId, SubscribeURL, Timestamp, Token,
                                        TopicArn, Type
The signature is base64 of PKCS#1 v1.5 over that string, with SHA-1 (version 1) or
SHA-256 (version 2). Invariant: one key per data directory, never rotated.
Concurrency: pure CPU (RSA sign ~0.3-1 ms at 2048 bits); callers cache per message.
`sign` and `sign_many` are thread-safe (the key object is immutable); sign_pool.py
signs `digest`s on worker processes instead when the machine has cores to spare. The
digest is computed with hashlib and handed to the key as `Prehashed` (~10% faster
than letting cryptography hash the short canonical string).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.x509.oid import NameOID

KEY_BITS = 2048
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_PAD = padding.PKCS1v15()
# SignatureVersion (as a byte) -> its prehashed digest: 1 is SHA1withRSA, 2 SHA256withRSA
_PREHASHED = {ord("1"): utils.Prehashed(hashes.SHA1()), ord("2"): utils.Prehashed(hashes.SHA256())}


def sign_digest(key: rsa.RSAPrivateKey, version: int, digest: bytes) -> bytes:
    """Base64 PKCS#1 v1.5 signature of a `Signer.digest` (here and in sign_worker.py)."""
    return base64.b64encode(key.sign(digest, _PAD, _PREHASHED[version]))


def string_to_sign(message: Mapping[str, str]) -> bytes:
    """AWS's canonical string for a notification or (un)subscribe confirmation."""
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    parts = []
    for name in fields:
        value = message.get(name)
        if value is not None:
            parts.append(f"{name}\n{value}\n")
    return "".join(parts).encode()


class Signer:
    """The signing key and certificate of one broker (see module docstring)."""

    def __init__(self, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.cert_name = "SimpleNotificationService-" + hashlib.sha256(self.cert_pem).hexdigest()[:32] + ".pem"

    @classmethod
    def load_or_create(cls, directory: Path | None) -> Signer:
        """The key of `directory` (created on first use); a fresh one when None."""
        if directory is not None:
            key_path = directory / "signing-key.pem"
            cert_path = directory / "signing-cert.pem"
            if key_path.exists() and cert_path.exists():
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                assert isinstance(key, rsa.RSAPrivateKey)
                return cls(key, cert)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        cert = _self_signed(key)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_private(directory / "signing-key.pem", key_pem)
            (directory / "signing-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert)

    @staticmethod
    def digest(message: Mapping[str, str], version: str = "1") -> tuple[int, bytes]:
        """(version byte, digest of the canonical string): what sign_worker.py signs."""
        data = string_to_sign(message)
        if version == "2":
            return ord("2"), hashlib.sha256(data).digest()
        return ord("1"), hashlib.sha1(data).digest()

    def sign(self, message: Mapping[str, str], version: str = "1") -> str:
        """Base64 signature of `message` (its canonical string) for SignatureVersion."""
        return sign_digest(self.key, *self.digest(message, version)).decode()

    def sign_many(self, jobs: list[tuple[Mapping[str, str], str]]) -> list[str]:
        """`sign` for each (message, version), in order."""
        return [self.sign(message, version) for message, version in jobs]


def verify(cert_pem: bytes, message: Mapping[str, str]) -> bool:
    """Check a message's Signature against a PEM certificate (what a subscriber does)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    algo: hashes.HashAlgorithm = hashes.SHA256() if message.get("SignatureVersion") == "2" else hashes.SHA1()
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    try:
        public.verify(base64.b64decode(message["Signature"]), string_to_sign(message),
                      padding.PKCS1v15(), algo)
    except Exception:  # noqa: BLE001 - any failure is "does not verify"
        return False
    return True


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mqlite"),
    ])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
