"""Matchers: one module per pattern language, each compiled once per binding.

    direct        exact routing key (AMQP direct)            direct.compile_direct
    fanout        everything (AMQP fanout, unfiltered SNS)   fanout.compile_fanout
    topic         AMQP topic `*`/`#` + TopicTrie index        topic.compile_topic
    headers       AMQP headers x-match                        headers.compile_headers
    glob          Redis PSUBSCRIBE glob                       glob.compile_glob
    sns           SNS filter policies (both scopes)           sns_filter.compile_sns_filter
    event_pattern EventBridge event patterns                  event_pattern.compile_event_pattern

Shared by sns and event_pattern: `content` (compile + evaluate), `hints` (which
conditions a binding can be indexed by). `index.BindingIndex` is what a router matches
with (per-kind indexes; content bindings filed under their rarest condition; prefix,
suffix and numeric-range lookups via `ranges.RangeIndex`).

Every compiler validates at compile time and raises `mqlite.core.errors.InvalidPattern`
with the real system's message; compiled predicates never raise on any message.
The two public one-shot entry points are `test_event_pattern` and `sns_filter_matches`.
"""

from __future__ import annotations

from mqlite.core.matchers.direct import compile_direct
from mqlite.core.matchers.event_pattern import (
    EventPattern,
    compile_event_pattern,
    test_event_pattern,
)
from mqlite.core.matchers.fanout import compile_fanout
from mqlite.core.matchers.glob import compile_glob, glob_matches
from mqlite.core.matchers.headers import compile_headers, headers_match
from mqlite.core.matchers.sns_filter import (
    FilterPolicy,
    compile_sns_filter,
    sns_filter_matches,
)
from mqlite.core.matchers.topic import TopicTrie, compile_topic, topic_matches

__all__ = [
    "EventPattern",
    "FilterPolicy",
    "TopicTrie",
    "compile_direct",
    "compile_event_pattern",
    "compile_fanout",
    "compile_glob",
    "compile_headers",
    "compile_sns_filter",
    "compile_topic",
    "glob_matches",
    "headers_match",
    "sns_filter_matches",
    "test_event_pattern",
    "topic_matches",
]
