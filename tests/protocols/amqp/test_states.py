"""The AMQP connection's state machine (protocols/amqp/states.py): one transition
table, h11-style; an unplanned move is refused at once."""

from __future__ import annotations

import pytest

from mqlite.protocols.amqp.states import HANDSHAKE, TRANSITIONS, ConnState, IllegalTransition, check


def test_the_handshake_moves_forward_one_step_at_a_time() -> None:
    """AMQP 0-9-1 section 2.2.4: Start/StartOk, Tune/TuneOk, Open/OpenOk, in order."""
    order = [ConnState.HEADER, ConnState.START_OK, ConnState.TUNE_OK, ConnState.OPEN, ConnState.OPENED]
    for old, new in zip(order, order[1:]):
        assert check(old, new) is new
    for i, old in enumerate(order):
        for skipped in order[i + 2:]:
            with pytest.raises(IllegalTransition, match=f"{old.value} -> {skipped.value}"):
                check(old, skipped)
    assert HANDSHAKE == set(order[:-1])


def test_every_state_can_end_so_teardown_never_fails() -> None:
    for state in ConnState:
        assert check(state, ConnState.CLOSED) is ConnState.CLOSED
        if state is not ConnState.CLOSED:
            assert check(state, ConnState.DEAD) is ConnState.DEAD


def test_nothing_moves_back_once_closing_has_begun() -> None:
    """A connection error's Close ignores everything but Close/Close-Ok (AMQP 0-9-1
    section 2.2.4.2): CLOSING never returns to a live state."""
    for later in (ConnState.HEADER, ConnState.START_OK, ConnState.TUNE_OK, ConnState.OPEN, ConnState.OPENED):
        with pytest.raises(IllegalTransition):
            check(ConnState.CLOSING, later)
    assert TRANSITIONS[ConnState.CLOSED] == frozenset()
