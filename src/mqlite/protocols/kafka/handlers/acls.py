"""DescribeAcls, CreateAcls, DeleteAcls: Kafka's view of mqlite's one rule set.

The rules are `security.authz` rules, shared by every protocol; here each is shown as
Kafka ACL bindings and Kafka bindings are stored as rules. Mapping (Kafka's
`AclOperation`, `ResourceType`, `PatternType` values):
- resource TOPIC (2) <-> kind `stream`, GROUP (3) <-> kind `group` (rules for queues,
  routers and channels are not Kafka resources and are not listed here);
- pattern LITERAL (3) `name` <-> `name` (LITERAL `*`, Kafka's wildcard, <-> `*`),
  PREFIXED (4) `pre` <-> `pre*`;
- principal `User:alice` <-> `alice`, `User:*` <-> `*`; host is always `*`;
- operation READ (3) / DESCRIBE (8) <-> read, WRITE (4) <-> write, CREATE (5) <->
  create, DELETE (6) / ALTER (7) / ALTER_CONFIGS (11) / DESCRIBE_CONFIGS (10) <->
  admin, ALL (2) <-> all four; permission ALLOW (3) / DENY (2) <-> allow / `!`.
Managing ACLs needs the `admin` role (Kafka: ALTER on the CLUSTER); others get
CLUSTER_AUTHORIZATION_FAILED. Rules from the settings are listed but cannot be deleted.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.security.authz import OPS, Rule

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

ANY, MATCH, LITERAL, PREFIXED = 1, 2, 3, 4  # PatternType (ANY also ResourceType/op/perm)
TOPIC, GROUP = 2, 3
ALL, READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS = 2, 3, 4, 5, 6, 7, 8, 10, 11
DENY, ALLOW = 2, 3
KIND_OF = {TOPIC: "stream", GROUP: "group"}
RESOURCE_OF = {v: k for k, v in KIND_OF.items()}
OP_OF = {READ: "read", DESCRIBE: "read", WRITE: "write", CREATE: "create", DELETE: "admin",
         ALTER: "admin", ALTER_CONFIGS: "admin", DESCRIBE_CONFIGS: "admin"}
KAFKA_OP = {"read": READ, "write": WRITE, "create": CREATE, "admin": ALTER}
NOT_ADMIN = "Managing ACLs requires the admin role."


def _bindings(rule: Rule) -> list[tuple[int, str, int, str, int, int]]:
    """(resource type, name, pattern type, principal, operation, permission) per op."""
    resource = RESOURCE_OF.get(rule.kind)
    if resource is None:
        return []
    if rule.pattern.endswith("*") and rule.pattern != "*" and "*" not in rule.pattern[:-1]:
        name, ptype = rule.pattern[:-1], PREFIXED
    else:
        name, ptype = rule.pattern, LITERAL
    principal = f"User:{rule.principal}"
    perm = ALLOW if rule.allow else DENY
    ops = [ALL] if rule.ops == OPS else [KAFKA_OP[o] for o in rule.ops]
    return [(resource, name, ptype, principal, op, perm) for op in ops]


def _matches(f: dict[str, Any], binding: tuple[int, str, int, str, int, int]) -> bool:
    resource, name, ptype, principal, op, perm = binding
    ftype = f.get("PatternTypeFilter", LITERAL)
    return (f["ResourceTypeFilter"] in (ANY, resource)
            and (f["ResourceNameFilter"] is None or f["ResourceNameFilter"] == name)
            and (ftype in (ANY, MATCH) or ftype == ptype)
            and (f["PrincipalFilter"] is None or f["PrincipalFilter"] == principal)
            and (f["HostFilter"] is None or f["HostFilter"] == "*")
            and f["Operation"] in (ANY, op) and f["PermissionType"] in (ANY, perm))


def _rule(c: dict[str, Any]) -> Rule | str:
    """The rule of one CreateAcls creation, or why there is none."""
    kind = KIND_OF.get(c["ResourceType"])
    if kind is None:
        return "Only TOPIC and GROUP ACLs are supported."
    if not c["Principal"].startswith("User:"):
        return f"Invalid principal {c['Principal']!r}: expected User:<name>."
    if c["Host"] != "*":
        return "Only host '*' is supported."
    op = c["Operation"]
    ops = OPS if op == ALL else (OP_OF[op],) if op in OP_OF else None
    if ops is None:
        return f"Unsupported operation {op}."
    if c["PermissionType"] not in (ALLOW, DENY):
        return f"Unsupported permission type {c['PermissionType']}."
    ptype = c.get("ResourcePatternType", LITERAL)
    if ptype not in (LITERAL, PREFIXED):
        return f"Unsupported pattern type {ptype}."
    pattern = c["ResourceName"] + ("*" if ptype == PREFIXED else "")
    return Rule(c["Principal"][5:], ops, kind, pattern, c["PermissionType"] == ALLOW)


async def describe_acls(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DescribeAcls: the rules matching a filter, as ACL bindings grouped by resource."""
    if not fe.authz.is_admin(session.principal):
        return {"ThrottleTimeMs": 0, "ErrorCode": ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
                "ErrorMessage": NOT_ADMIN, "Resources": []}
    grouped: dict[tuple[int, str, int], list[dict[str, Any]]] = {}
    for rule in fe.authz.rules:
        for b in _bindings(rule):
            if _matches(req.body, b):
                grouped.setdefault(b[:3], []).append(
                    {"Principal": b[3], "Host": "*", "Operation": b[4], "PermissionType": b[5]})
    resources = [{"ResourceType": t, "ResourceName": n, "PatternType": p, "Acls": acls}
                 for (t, n, p), acls in grouped.items()]
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "Resources": resources}


async def create_acls(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """CreateAcls: each creation becomes a rule (kept in the catalog)."""
    results = []
    admin = fe.authz.is_admin(session.principal)
    for c in req.body["Creations"]:
        if not admin:
            results.append({"ErrorCode": ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "ErrorMessage": NOT_ADMIN})
            continue
        rule = _rule(c)
        if isinstance(rule, str):
            results.append({"ErrorCode": ErrorCode.INVALID_REQUEST, "ErrorMessage": rule})
            continue
        fe.authz.add(rule)
        results.append({"ErrorCode": 0, "ErrorMessage": None})
    return {"ThrottleTimeMs": 0, "Results": results}


async def delete_acls(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DeleteAcls: remove the run-time rules whose bindings match each filter."""
    out = []
    admin = fe.authz.is_admin(session.principal)
    for f in req.body["Filters"]:
        if not admin:
            out.append({"ErrorCode": ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "ErrorMessage": NOT_ADMIN,
                        "MatchingAcls": []})
            continue
        matching = []
        for rule in list(fe.authz.added):
            hits = [b for b in _bindings(rule) if _matches(f, b)]
            if hits and fe.authz.remove(rule):
                matching += [{"ErrorCode": 0, "ErrorMessage": None, "ResourceType": b[0], "ResourceName": b[1],
                              "PatternType": b[2], "Principal": b[3], "Host": "*", "Operation": b[4],
                              "PermissionType": b[5]} for b in hits]
        out.append({"ErrorCode": 0, "ErrorMessage": None, "MatchingAcls": matching})
    return {"ThrottleTimeMs": 0, "FilterResults": out}


APIS = {29: (0, 3, describe_acls), 30: (0, 3, create_acls), 31: (0, 3, delete_acls)}
