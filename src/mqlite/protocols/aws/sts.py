"""STS GetCallerIdentity and AssumeRole: who the caller is, and credentials for another account.

GetCallerIdentity answers `{UserId, Account, Arn}` for the caller's access key: the
account it acts in (`--aws-account-of`, else `--aws-account`) with the root ARN, or for
AssumeRole's temporary credentials the assumed role (`AROA...:<session>`,
`arn:aws:sts::<account>:assumed-role/<role>/<session>`). AssumeRole hands out temporary
credentials (`sts_credentials.py`) that act in the role ARN's account: the way to reach
a second account's queues, topics and streams, as moto's multi-account tests do. No IAM
is modelled: while authentication is off any caller may assume any role (as moto and
LocalStack allow); while it is on, a role in another account than the caller's needs the
`admin` role (accounts are isolated), and the rules apply to the user who assumed it
(docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from mqlite.protocols.aws import sts_credentials
from mqlite.protocols.aws.frontend import AwsContext, ServiceFrontend
from mqlite.protocols.aws.wire import AwsError, AwsService
from mqlite.settings import Settings
from mqlite.core.api import BrokerCore

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]+$")
DEFAULT_DURATION_S = 3600


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    from mqlite.security.authz import authorizer_for

    users = authorizer_for(core, settings).users

    def _is_admin(principal: str | None) -> bool:
        user = users.get(principal)
        return user is not None and user.admin

    async def get_caller_identity(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetCallerIdentity."""
        cred = sts_credentials.find(core, ctx.access_key) if ctx.access_key else None
        if cred is not None:
            return {"UserId": f"{cred.role_id}:{cred.session}", "Account": cred.account,
                    "Arn": cred.assumed_arn}
        return {
            "UserId": ctx.access_key or "AKIAIOSFODNN7EXAMPLE",
            "Account": ctx.account,
            "Arn": f"arn:aws:iam::{ctx.account}:root",
        }

    async def assume_role(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """AssumeRole."""
        role_arn = str(params["RoleArn"])
        found = ROLE_ARN.match(role_arn)
        if found is None:
            raise AwsError("ValidationError", f"{role_arn} is invalid", 400)
        duration = int(params.get("DurationSeconds") or DEFAULT_DURATION_S)
        if not 900 <= duration <= 43200:
            raise AwsError("ValidationError",
                           f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                           "satisfy constraint: Member must have value less than or equal to 43200", 400)
        session = str(params["RoleSessionName"])
        account = found.group(1)
        if ctx.verified and account != ctx.account and not _is_admin(ctx.principal):
            # accounts are isolated: only the admin role may act in another (docs/security.md)
            raise AwsError("AccessDenied", f"User: arn:aws:iam::{ctx.account}:user/{ctx.principal} is not "
                           f"authorized to perform: sts:AssumeRole on resource: {role_arn}", 403)
        cred = sts_credentials.issue(core, account, ctx.principal, role_arn, session, duration)
        expires = dt.datetime.fromtimestamp(cred.expires_ms / 1000, dt.UTC)
        out: dict[str, Any] = {
            "Credentials": {"AccessKeyId": cred.access_key, "SecretAccessKey": cred.secret,
                            "SessionToken": cred.token, "Expiration": expires},
            "AssumedRoleUser": {"AssumedRoleId": f"{cred.role_id}:{session}", "Arn": cred.assumed_arn},
        }
        if params.get("Policy") or params.get("PolicyArns"):  # session policies: not enforced
            out["PackedPolicySize"] = 6
        return out

    return ServiceFrontend(AwsService.load("sts"),
                           {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role})
