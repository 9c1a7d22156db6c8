"""An AMQP connection's lifecycle: its states and the only transitions allowed.

The model is h11's `_state.py`: states are enum members, every legal move is in one
table, and a move the table does not allow is a bug in mqlite, raised at once
(`IllegalTransition`) instead of leaving a connection in a state nobody planned:

    HEADER --(Start sent)--> START_OK --(Tune sent)--> TUNE_OK --(TuneOk)--> OPEN
        --(Connection.Open)--> OPENED

From every live state a connection error sends Connection.Close and moves to CLOSING
(everything but Close/Close-Ok is then ignored); DEAD means nothing more is read (a
Close exchanged, a refused login, missed heartbeats, a framing error); CLOSED means the
transport is gone. DEAD and CLOSED are reachable from everywhere, so tearing down can
never fail.
Concurrency: plain data; used by one connection on the server's event loop.
"""

from __future__ import annotations

from enum import Enum


class ConnState(Enum):
    HEADER = "header"  # waiting for the protocol header
    START_OK = "start_ok"  # Connection.Start sent: waiting for StartOk (login)
    TUNE_OK = "tune_ok"  # Connection.Tune sent: waiting for TuneOk
    OPEN = "open"  # tuned: waiting for Connection.Open (the vhost)
    OPENED = "opened"  # channels may be used
    CLOSING = "closing"  # we sent Connection.Close: waiting for Close-Ok
    DEAD = "dead"  # nothing more is read; the transport is being closed
    CLOSED = "closed"  # the transport is gone


S = ConnState
_ENDS = frozenset({S.DEAD, S.CLOSED})

#: state -> the states it may move to (moving to the same state is not a move)
TRANSITIONS: dict[ConnState, frozenset[ConnState]] = {
    S.HEADER: frozenset({S.START_OK, S.CLOSING}) | _ENDS,
    S.START_OK: frozenset({S.TUNE_OK, S.CLOSING}) | _ENDS,
    S.TUNE_OK: frozenset({S.OPEN, S.CLOSING}) | _ENDS,
    S.OPEN: frozenset({S.OPENED, S.CLOSING}) | _ENDS,
    S.OPENED: frozenset({S.CLOSING}) | _ENDS,
    S.CLOSING: _ENDS,
    S.DEAD: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

#: states before the login and the vhost are settled (the transport's unauthenticated timeout)
HANDSHAKE = frozenset({S.HEADER, S.START_OK, S.TUNE_OK, S.OPEN})
#: states in which we may still send Connection.Close for a framing error
CAN_CLOSE = frozenset({S.START_OK, S.TUNE_OK, S.OPEN, S.OPENED})
#: states in which nothing more is read or dispatched
GONE = _ENDS
#: states in which a connection error is already being handled
ENDING = frozenset({S.CLOSING}) | _ENDS


class IllegalTransition(RuntimeError):
    """A move the table does not allow: a bug in mqlite, not a client's mistake."""


def check(old: ConnState, new: ConnState) -> ConnState:
    """`new`, if `old -> new` is in the table (or `new is old`); else IllegalTransition."""
    if new is not old and new not in TRANSITIONS[old]:
        raise IllegalTransition(f"amqp connection: {old.value} -> {new.value} is not a legal transition")
    return new
