"""wire.form.parse_form gives what urllib.parse.parse_qsl(keep_blank_values=True) gives."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.protocols.aws.wire.form import parse_form

# the characters that matter to the parser, plus some that do not
_ALPHABET = st.sampled_from(list("&=+%2F0aAzZ.-_~ é€") + ["%2", "%zz", "%C3%A9", "%26", "%3D", "%2B"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_parse_form_matches_parse_qsl_on_any_text(text: str) -> None:
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=12))
def test_parse_form_reads_what_urlencode_writes(pairs: list[tuple[str, str]]) -> None:
    text = urlencode(pairs)
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)
