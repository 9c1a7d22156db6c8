"""Authorization: which user may create, write, read and administer which entities.

One rule set and one check for every protocol. A rule is written
`[!]USER:OPS:KIND:PATTERN` (`--acl`, repeatable; `!` makes it a deny rule):

- USER: a user name (`security.users`), or `*` for every principal (`anonymous` is the
  principal of a client while authentication is off);
- OPS: `create`, `write`, `read`, `admin` joined by `+`, or `*` (all four);
- KIND: `queue` (SQS, AMQP queues), `stream` (Kafka topics, Kinesis and Redis streams),
  `router` (SNS topics, AMQP exchanges, EventBridge buses), `group` (Kafka consumer
  groups), `channel` (Redis Pub/Sub), or `*`;
- PATTERN: the entity name, where `*` matches any run of characters (`orders-*`).

Decision (Kafka's authorizer is the model): with no rules at all, authorization is off
and every authenticated user may do everything (the behaviour before rules existed).
With rules, a user holding the `admin` role may do everything; anyone else needs a
matching allow rule and no matching deny rule. Rules come from the settings (`acl`,
fixed for the process) and from clients at run time (Kafka CreateAcls/DeleteAcls, Redis
ACL SETUSER), which are kept in the catalog and survive restarts.
`Authorizer.check(principal, op, kind, name)` raises `AccessDenied`, which each
front-end answers with its own error (see docs/security.md). Decisions are memoized per
(principal, op, kind, name) and forgotten when a rule changes, so a check on the hot
path is one dict lookup. Concurrency: the server's event loop; no locks.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mqlite.errors import MqliteError
from mqlite.security.users import Users

OPS = ("create", "write", "read", "admin")
KINDS = ("queue", "stream", "router", "group", "channel")
ANONYMOUS = "anonymous"  # the principal of a client while authentication is off
NAMESPACE = "security.acl"  # catalog kv namespace of the rules clients add at run time
_CACHE_MAX = 65536


class AccessDenied(MqliteError):
    """`principal` may not `op` the `kind` named `name`."""

    def __init__(self, principal: str, op: str, kind: str, name: str) -> None:
        super().__init__(f"user {principal!r} is not authorized to {op} {kind} {name!r}",
                         rule="authorization")
        self.principal, self.op, self.kind, self.name = principal, op, kind, name


@dataclass(frozen=True, slots=True)
class Rule:
    principal: str  # a user name or "*"
    ops: tuple[str, ...]  # subset of OPS
    kind: str  # one of KINDS or "*"
    pattern: str  # "*" matches any run of characters
    allow: bool = True
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(o for o in OPS if o in self.ops))  # one order: equality
        object.__setattr__(self, "regex", re.compile(".*".join(map(re.escape, self.pattern.split("*")))))

    def matches(self, principal: str, op: str, kind: str, name: str) -> bool:
        return ((self.principal == "*" or self.principal == principal) and op in self.ops
                and (self.kind == "*" or self.kind == kind)
                and self.regex.fullmatch(name) is not None)

    def text(self) -> str:
        ops = "*" if self.ops == OPS else "+".join(self.ops)
        return f"{'' if self.allow else '!'}{self.principal}:{ops}:{self.kind}:{self.pattern}"


def parse_rule(spec: str) -> Rule:
    """`[!]USER:OPS:KIND:PATTERN` -> Rule; ValueError with a one-line reason otherwise."""
    text = spec.strip()
    allow = not text.startswith("!")
    parts = text.lstrip("!").split(":", 3)
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"expected [!]USER:OPS:KIND:PATTERN, got {spec!r}")
    user, ops_text, kind, pattern = parts
    ops = OPS if ops_text == "*" else tuple(o for o in OPS if o in ops_text.split("+"))
    unknown = set(ops_text.split("+")) - set(OPS) - {"*"}
    if unknown or not ops:
        raise ValueError(f"{spec!r}: operations are {'+'.join(OPS)} or *, not {ops_text!r}")
    if kind != "*" and kind not in KINDS:
        raise ValueError(f"{spec!r}: kind is one of {', '.join(KINDS)} or *, not {kind!r}")
    return Rule(user, ops, kind, pattern, allow)


class Authorizer:
    """The rules in force and the one check (see module docstring)."""

    def __init__(self, users: Users, rules: Iterable[Rule] = (), store: Any = None) -> None:
        self.users = users
        self.fixed = tuple(rules)  # from the settings
        self.store = store  # a Catalog (kv_items/kv_put/kv_delete) for run-time rules
        self.added: list[Rule] = []
        if store is not None:
            for _key, text in sorted(store.kv_items(NAMESPACE)):
                self.added.append(parse_rule(text))
        self._cache: dict[tuple[str | None, str, str, str], bool] = {}
        # Whether any rule exists (no rules: every user may do everything); an attribute,
        # as the hot path reads it on every check.
        self.enabled = bool(self.fixed or self.added)
        self.rules: tuple[Rule, ...] = self.fixed + tuple(self.added)

    def _changed(self) -> None:
        self.enabled = bool(self.fixed or self.added)
        self.rules = self.fixed + tuple(self.added)
        self._cache.clear()

    def allowed(self, principal: str | None, op: str, kind: str, name: str) -> bool:
        key = (principal, op, kind, name)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._decide(principal, op, kind, name)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _decide(self, principal: str | None, op: str, kind: str, name: str) -> bool:
        if not self.enabled:
            return True
        return self.granted(principal, op, kind, name)

    def granted(self, principal: str | None, op: str, kind: str, name: str) -> bool:
        """Whether the `admin` role or a rule explicitly allows it, even while no rule
        exists (the AWS front-ends' cross-account access: protocols/aws/namespace.py)."""
        user = self.users.get(principal)
        if user is not None and user.admin:
            return True
        who = principal or ANONYMOUS
        matching = [r for r in self.rules if r.matches(who, op, kind, name)]
        return bool(matching) and all(r.allow for r in matching)

    def check(self, principal: str | None, op: str, kind: str, name: str) -> None:
        """Raise `AccessDenied` unless `principal` may `op` the `kind` named `name`."""
        if not self.enabled:
            return
        hit = self._cache.get((principal, op, kind, name))
        if hit is None:
            hit = self.allowed(principal, op, kind, name)
        if not hit:
            raise AccessDenied(principal or ANONYMOUS, op, kind, name)

    def is_admin(self, principal: str | None) -> bool:
        """May manage the rules: an `admin` user, or anyone while auth and rules are off."""
        user = self.users.get(principal)
        if user is not None:
            return user.admin or not self.enabled and not self.users.enabled
        return not self.users.enabled

    # -- run-time rules (Kafka CreateAcls/DeleteAcls, Redis ACL SETUSER) ------------------
    def add(self, rule: Rule) -> bool:
        """Add a run-time rule (kept in the catalog); False if it is already in force."""
        if rule in self.rules:
            return False
        self.added.append(rule)
        if self.store is not None:
            self.store.kv_put(NAMESPACE, rule.text(), rule.text())
        self._changed()
        return True

    def remove(self, rule: Rule) -> bool:
        """Remove a run-time rule; rules from the settings cannot be removed."""
        if rule not in self.added:
            return False
        self.added.remove(rule)
        if self.store is not None:
            self.store.kv_delete(NAMESPACE, rule.text())
        self._changed()
        return True


_BY_CORE: weakref.WeakKeyDictionary[Any, Authorizer] = weakref.WeakKeyDictionary()


def authorizer_for(core: Any, settings: Any) -> Authorizer:
    """The one Authorizer of a broker core, built from `settings` on first use, shared by
    every front-end (so a rule added through Kafka holds for AMQP at once)."""
    found = _BY_CORE.get(core)
    if found is None:
        rules = [parse_rule(spec) for spec in getattr(settings, "acl", ())]
        found = _BY_CORE[core] = Authorizer(Users.from_settings(settings), rules,
                                            getattr(core, "catalog", None))
    return found
