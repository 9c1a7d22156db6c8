"""A Redis connection's lifecycle: its phases and the only transitions allowed.

h11's model (`_state.py`), as the AMQP connection's `amqp/states.py`: one enum, one
table, every move checked (`IllegalTransition` is a bug in mqlite, raised at once):

    NOAUTH --AUTH/HELLO AUTH--> READY --RESET (auth required)--> NOAUTH
    NOAUTH | READY --QUIT, a protocol error, CLIENT KILL of itself--> CLOSING
    any --the transport is gone--> CLOSED

NOAUTH: a password is required and not given: only `noauth` commands run and the
parser keeps its small unauthenticated limits. CLOSING: the replies to what was read
are sent, nothing more is executed, then the connection closes. Transactions (MULTI),
blocking commands and the RESP2 pub/sub context are modes within READY, kept by the
connection itself.
Concurrency: plain data; used by one connection on the server's event loop.
"""

from __future__ import annotations

from enum import Enum


class Phase(Enum):
    NOAUTH = "noauth"
    READY = "ready"
    CLOSING = "closing"
    CLOSED = "closed"


#: phase -> the phases it may move to (moving to the same phase is not a move)
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.NOAUTH: frozenset({Phase.READY, Phase.CLOSING, Phase.CLOSED}),
    Phase.READY: frozenset({Phase.NOAUTH, Phase.CLOSING, Phase.CLOSED}),
    Phase.CLOSING: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the table does not allow: a bug in mqlite, not a client's mistake."""


def check(old: Phase, new: Phase) -> Phase:
    """`new`, if `old -> new` is in the table (or `new is old`); else IllegalTransition."""
    if new is not old and new not in TRANSITIONS[old]:
        raise IllegalTransition(f"redis connection: {old.value} -> {new.value} is not a legal transition")
    return new
