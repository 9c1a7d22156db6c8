"""Incremental fetch sessions (KIP-227): the broker remembers a consumer's partitions.

Sans-IO state for the Fetch handler. Rules (Apache Kafka `FetchSession.scala`,
`FetchManager.newContext`), by the request's (SessionId, SessionEpoch):
- (0, -1): a full fetch without a session; (0, 0): a full fetch that opens a session
  (its id in the response) holding every requested partition and its fetch position;
  (0, other): INVALID_FETCH_SESSION_EPOCH;
- (id, -1): the session is closed; the request is a full fetch without a session;
- (id, epoch > 0): an incremental fetch: an unknown id is FETCH_SESSION_ID_NOT_FOUND,
  an epoch other than the session's next one INVALID_FETCH_SESSION_EPOCH; otherwise
  the requested partitions are added or updated, the forgotten ones removed, and the
  response lists only the partitions with records, an error, or a changed high
  watermark, last stable offset or log start offset (the client keeps the others);
- at most `SLOTS` sessions (`max.incremental.fetch.session.cache.slots`, 1000); the
  least recently used is evicted for a new one.
Concurrency: the server's event loop; a session is used by one request at a time (the
client's), and a request racing another on the same session gets the epoch error.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71
SLOTS = 1000
INITIAL_EPOCH, FINAL_EPOCH = 0, -1

Key = tuple[str, int]


@dataclass(slots=True)
class FetchSession:
    """One session: its partitions in request order and what the client last heard."""

    session_id: int
    epoch: int = 1  # the epoch the next incremental request must carry
    wanted: dict[Key, dict[str, Any]] = field(default_factory=dict)  # -> request partition fields
    sent: dict[Key, tuple[int, int, int]] = field(default_factory=dict)  # -> (hw, lso, log start)


class FetchSessions:
    """The session cache of one Kafka listener; see module docstring."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self._sessions: OrderedDict[int, FetchSession] = OrderedDict()

    def open(self, body: dict[str, Any]) -> tuple[int, FetchSession | None]:
        """(error code, session or None for a sessionless full fetch) for a request."""
        sid, epoch = body.get("SessionId", 0), body.get("SessionEpoch", FINAL_EPOCH)
        if sid == 0:
            if epoch == FINAL_EPOCH:
                return 0, None
            if epoch != INITIAL_EPOCH:
                return INVALID_FETCH_SESSION_EPOCH, None
            session = FetchSession(self._new_id())
            self._update(session, body)
            while len(self._sessions) >= self.slots:
                self._sessions.popitem(last=False)
            self._sessions[session.session_id] = session
            return 0, session
        if epoch == FINAL_EPOCH:
            self._sessions.pop(sid, None)
            return 0, None
        found = self._sessions.get(sid)
        if found is None:
            return FETCH_SESSION_ID_NOT_FOUND, None
        if epoch != found.epoch:
            return INVALID_FETCH_SESSION_EPOCH, None
        found.epoch = epoch + 1 if epoch < 0x7FFFFFFF else 1
        self._sessions.move_to_end(sid)
        self._update(found, body)
        return 0, found

    def _new_id(self) -> int:
        while True:
            sid = random.randint(1, 0x7FFFFFFF)
            if sid not in self._sessions:
                return sid

    @staticmethod
    def _update(session: FetchSession, body: dict[str, Any]) -> None:
        for t in body["Topics"]:
            for p in t["Partitions"]:
                session.wanted[(t["Topic"], p["Partition"])] = p
        for t in body.get("ForgottenTopicsData") or ():
            for index in t["Partitions"]:
                session.wanted.pop((t["Topic"], index), None)
                session.sent.pop((t["Topic"], index), None)

    @staticmethod
    def topics(session: FetchSession) -> list[tuple[str, list[dict[str, Any]]]]:
        """The session's partitions grouped by topic, in the order they were added."""
        out: dict[str, list[dict[str, Any]]] = {}
        for (name, _), p in session.wanted.items():
            out.setdefault(name, []).append(p)
        return list(out.items())

    @staticmethod
    def note_sent(session: FetchSession, name: str, part: dict[str, Any], incremental: bool) -> bool:
        """Record what the client now knows of a partition; whether the response carries it."""
        key = (name, part["PartitionIndex"])
        state = (part["HighWatermark"], part["LastStableOffset"], part["LogStartOffset"])
        changed = session.sent.get(key) != state
        session.sent[key] = state
        return not incremental or changed or bool(part["Records"]) or part["ErrorCode"] != 0

    def close_all(self) -> None:
        self._sessions.clear()
