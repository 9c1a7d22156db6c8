"""The Kafka front-end's shared state and request dispatch (sans socket).

Owns `KafkaFrontEnd` (one per listener: the core, settings, the group coordinator, the
producer-id allocator, the table of supported API versions) and `Session` (one per
connection: addresses, client id, SASL state). `dispatch(session, frame)` turns one
frame into the response frame (a list of byte chunks), `None` (no response: acks=0 produce) or `False`
(close the connection, as Kafka does for unknown APIs, unparsable requests and
unauthenticated requests).

Rules: ApiVersions with an unsupported version is answered with UNSUPPORTED_VERSION in
the v0 format (KIP-511); any other unsupported version closes the connection, as
Kafka's `RequestContext.parseRequest` failure does.

Concurrency: the server's one event loop; handlers may await.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mqlite.core import alarms
from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import (
    KafkaDecodeError,
    Request,
    UnknownApiError,
    UnsupportedVersionError,
    decode_request,
    encode_response,
    encode_response_parts,
)
from mqlite.protocols.kafka.fetch_sessions import FetchSessions
from mqlite.protocols.kafka.observed import entity_of, first_error
from mqlite.protocols.kafka.schema import Versions
from mqlite.protocols.observe import Observer
from mqlite.security.authz import authorizer_for
from mqlite.security.users import Users
from mqlite.settings import Settings

log = logging.getLogger("mqlite.kafka")

Handler = Callable[["KafkaFrontEnd", "Session", Request], Awaitable["dict[str, Any] | None"]]

API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36


@dataclass(slots=True)
class Session:
    """Per-connection state."""

    peer_host: str
    peer_port: int
    local_host: str
    local_port: int
    authenticated: bool = True
    mechanism: str | None = None
    principal: str | None = None
    sasl: Any = None  # a mechanism's server state between SaslAuthenticate rounds
    sasl_user: str | None = None  # the user name a SASL exchange claims, for log lines
    close_after_response: bool = False  # send this response, then close (failed SASL)


class KafkaFrontEnd:
    """Shared front-end state; see module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        from mqlite.protocols.kafka.handlers import HANDLERS
        from mqlite.protocols.kafka.handlers.coordinator import Coordinator
        from mqlite.protocols.kafka.handlers.producer_ids import ProducerIds

        self.core = core
        self.settings = settings
        self.fetch_sessions = FetchSessions()  # KIP-227 incremental fetch sessions
        self.max_frame_bytes = settings.kafka_max_frame_bytes
        # every configured user (mqlite.security.users), name -> secret; empty = no SASL
        self.users: dict[str, str] = Users.from_settings(settings).secrets()
        self.sasl_max_receive_bytes = int(getattr(settings, "kafka_sasl_max_receive_bytes", 524288))
        self.authz = authorizer_for(core, settings)  # the one rule set of every protocol
        self.handlers: dict[int, tuple[Versions, Handler]] = HANDLERS
        self.supported: dict[int, Versions] = {k: v for k, (v, _) in HANDLERS.items()}
        self.coordinator = Coordinator(self)
        self.producer_ids = ProducerIds(self)
        self.cluster_id = "mqlite-kafka-cluster"
        self.observer = Observer(core, settings)

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self.coordinator.start()

    async def stop(self) -> None:
        await self.coordinator.stop()

    def new_session(self, peer: Any, local: Any) -> Session:
        peer = peer or ("", 0)
        local = local or ("127.0.0.1", 0)
        return Session(
            str(peer[0]), int(peer[1]), str(local[0]), int(local[1]), authenticated=not self.users
        )

    def close_session(self, session: Session) -> None:
        self.coordinator.connection_closed(session)

    def advertised(self, session: Session) -> tuple[str, int]:
        """The (host, port) this broker advertises to the client on `session`."""
        host = self.settings.kafka_advertised_host
        if host:
            if ":" in host and not host.startswith("["):
                name, _, port = host.rpartition(":")
                return name, int(port)
            return host, session.local_port
        return session.local_host, session.local_port

    # -- dispatch -----------------------------------------------------------------------
    async def dispatch(self, session: Session, frame: bytes) -> list[bytes] | None | bool:
        try:
            req = decode_request(frame, self.supported)
        except UnsupportedVersionError as exc:
            if exc.api_key == API_VERSIONS:
                from mqlite.protocols.kafka.errors import ErrorCode
                from mqlite.protocols.kafka.handlers.metadata import api_versions_body

                body = api_versions_body(self)
                body["ErrorCode"] = ErrorCode.UNSUPPORTED_VERSION
                return [encode_response(API_VERSIONS, 0, exc.correlation_id, body)]
            log.info("kafka %s: %s; closing", session.peer_host, exc)
            return False
        except (UnknownApiError, KafkaDecodeError) as exc:
            log.info("kafka %s: %s; closing", session.peer_host, exc)
            return False
        if not session.authenticated and req.api_key not in (API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE):
            log.info("kafka %s: %s before SASL authentication; closing", session.peer_host, req.api_name)
            return False
        _versions, handler = self.handlers[req.api_key]
        started = time.perf_counter()
        peer = (session.peer_host, session.peer_port)
        try:
            result = await handler(self, session, req)
        except MqliteError as exc:  # a refusal no handler mapped: close, as Kafka does on errors it cannot encode
            alarms.note_failure(self.core, exc)
            log.warning("kafka %s: %s v%d refused (%s); closing", session.peer_host, req.api_name, req.api_version, exc)
            self.observer.done("kafka", req.api_name, lambda: entity_of(req.body), peer, "refused", started)
            return False
        except Exception as exc:
            reason = alarms.note_failure(self.core, exc)
            if reason is None:
                raise
            log.info("kafka %s: %s failed on storage (%s); closing", session.peer_host, req.api_name, reason)
            self.observer.done("kafka", req.api_name, lambda: entity_of(req.body), peer, "storage", started)
            return False
        self.observer.done("kafka", req.api_name, lambda: entity_of(req.body), peer,
                           None if result is None else first_error(result), started)
        if result is None:
            return None
        return encode_response_parts(req.api_key, req.api_version, req.correlation_id, result)
