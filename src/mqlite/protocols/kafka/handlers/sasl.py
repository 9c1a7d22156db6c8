"""SaslHandshake and SaslAuthenticate: PLAIN and SCRAM-SHA-256/512 against `kafka_users`.

Rules (KIP-43, KIP-152, KIP-84; RFC 4616 PLAIN; RFC 5802/7677 SCRAM): when users are
configured, a connection must authenticate before any request but ApiVersions,
SaslHandshake and SaslAuthenticate (the server closes it otherwise). SaslHandshake
v1 picks the mechanism (UNSUPPORTED_SASL_MECHANISM lists the enabled ones); the SASL
tokens then travel in SaslAuthenticate requests. A wrong password is
SASL_AUTHENTICATION_FAILED; an authenticate before a handshake is ILLEGAL_SASL_STATE.
After any failed SaslAuthenticate the connection is closed once the error is sent, as
Kafka's `SaslServerAuthenticator` does, so one connection gets one guess; the failure is
logged once (user name, never the secret) and answered after the delay of
`mqlite.security.throttle`, which counts failures per client address for all protocols.
SCRAM credentials are derived at first use from the configured plaintext password with
a random salt and 4096 iterations, and kept in memory.
Concurrency: the server's event loop; PBKDF2 runs once per user and mechanism.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.security import throttle

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

log = logging.getLogger("mqlite.kafka")

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_HASH = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
ITERATIONS = 4096


@dataclass(slots=True)
class ScramState:
    user: str
    client_first_bare: str
    server_first: str
    nonce: str
    salted: bytes


def _credentials(fe: KafkaFrontEnd, mechanism: str, user: str) -> tuple[bytes, bytes] | None:
    password = fe.users.get(user)
    if password is None:
        return None
    cache: dict[tuple[str, str], tuple[bytes, bytes]] = fe.__dict__.setdefault("_scram_cache", {})
    key = (mechanism, user)
    if key not in cache:
        salt = os.urandom(16)
        cache[key] = (salt, hashlib.pbkdf2_hmac(_HASH[mechanism], password.encode(), salt, ITERATIONS))
    return cache[key]


def _fail(message: str) -> dict[str, Any]:
    return {"ErrorCode": ErrorCode.SASL_AUTHENTICATION_FAILED, "ErrorMessage": message, "AuthBytes": b"",
            "SessionLifetimeMs": 0}


def _ok(data: bytes = b"") -> dict[str, Any]:
    return {"ErrorCode": 0, "ErrorMessage": None, "AuthBytes": data, "SessionLifetimeMs": 0}


async def sasl_handshake(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """SaslHandshake: choose the SASL mechanism for this connection."""
    enabled = list(MECHANISMS) if fe.users else []
    mechanism = req.body["Mechanism"]
    if mechanism not in enabled:
        return {"ErrorCode": ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Mechanisms": enabled}
    if req.api_version == 0:  # v0 means raw (unframed) tokens follow; we only speak v1
        return {"ErrorCode": ErrorCode.UNSUPPORTED_VERSION, "Mechanisms": enabled}
    session.mechanism = mechanism
    session.sasl = None
    return {"ErrorCode": 0, "Mechanisms": enabled}


async def sasl_authenticate(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """SaslAuthenticate: one round of the chosen mechanism's exchange."""
    result = _authenticate(fe, session, req)
    if result["ErrorCode"]:
        session.close_after_response = True
        who = session.sasl_user if session.sasl_user is not None else "?"
        log.info("kafka %s: SASL %s authentication failed (user %r): %s; closing",
                 session.peer_host, session.mechanism, who, result["ErrorMessage"])
        delay = throttle.for_server(fe.core).failed(session.peer_host)
        if delay:
            await asyncio.sleep(delay)
    return result


def _authenticate(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    mechanism = session.mechanism
    token: bytes = req.body["AuthBytes"] or b""
    if mechanism is None:
        return {"ErrorCode": ErrorCode.ILLEGAL_SASL_STATE, "ErrorMessage": "SaslHandshake first",
                "AuthBytes": b"", "SessionLifetimeMs": 0}
    if mechanism == "PLAIN":
        parts = token.split(b"\0")
        if len(parts) != 3:
            return _fail("Invalid SASL/PLAIN token")
        user, password = parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")
        session.sasl_user = user
        expected = fe.users.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return _fail("Authentication failed: Invalid username or password")
        session.authenticated, session.principal = True, user
        return _ok()
    return _scram(fe, session, mechanism, token)


def _attrs(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        if "=" in item:
            k, _, v = item.partition("=")
            out[k] = v
    return out


def _scram(fe: KafkaFrontEnd, session: Session, mechanism: str, token: bytes) -> dict[str, Any]:
    algo = _HASH[mechanism]
    text = token.decode("utf-8", "replace")
    state: ScramState | None = session.sasl
    if state is None:
        gs2, _, rest = text.partition(",")
        _authz, _, bare = rest.partition(",")
        if gs2 not in ("n", "y") or not bare:
            return _fail("Invalid SCRAM client-first message")
        attrs = _attrs(bare)
        user = attrs.get("n", "").replace("=2C", ",").replace("=3D", "=")
        cnonce = attrs.get("r", "")
        session.sasl_user = user
        creds = _credentials(fe, mechanism, user)
        if creds is None or not cnonce:
            return _fail(f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}")
        salt, salted = creds
        nonce = cnonce + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={ITERATIONS}"
        session.sasl = ScramState(user, bare, server_first, nonce, salted)
        return _ok(server_first.encode())
    session.sasl = None
    without_proof, _, proof_part = text.rpartition(",p=")
    attrs = _attrs(without_proof)
    if attrs.get("r") != state.nonce or not proof_part:
        return _fail("Invalid SCRAM client-final message")
    auth_message = f"{state.client_first_bare},{state.server_first},{without_proof}".encode()
    client_key = hmac.new(state.salted, b"Client Key", algo).digest()
    stored_key = hashlib.new(algo, client_key).digest()
    signature = hmac.new(stored_key, auth_message, algo).digest()
    try:
        proof = base64.b64decode(proof_part)
    except ValueError:
        return _fail("Invalid SCRAM proof")
    if len(proof) != len(signature):
        return _fail("Invalid SCRAM proof")
    recovered = bytes(a ^ b for a, b in zip(proof, signature))
    if not hmac.compare_digest(hashlib.new(algo, recovered).digest(), stored_key):
        return _fail(f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}")
    server_key = hmac.new(state.salted, b"Server Key", algo).digest()
    server_sig = base64.b64encode(hmac.new(server_key, auth_message, algo).digest()).decode()
    session.authenticated, session.principal = True, state.user
    return _ok(f"v={server_sig}".encode())


APIS = {
    17: (1, 1, sasl_handshake),
    36: (0, 1, sasl_authenticate),
}
