"""STS GetCallerIdentity: the connectivity check tools run first (`aws sts get-caller-identity`).

Answers `{UserId, Account, Arn}` for the caller's access key (account from
`settings.aws_account`, root ARN). No other STS action is served.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.aws.frontend import AwsContext, ServiceFrontend
from mqlite.protocols.aws.wire import AwsService
from mqlite.settings import Settings


async def get_caller_identity(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
    """GetCallerIdentity."""
    return {
        "UserId": ctx.access_key or "AKIAIOSFODNN7EXAMPLE",
        "Account": ctx.account,
        "Arn": f"arn:aws:iam::{ctx.account}:root",
    }


def build(core: Any, settings: Settings) -> ServiceFrontend:
    return ServiceFrontend(AwsService.load("sts"), {"GetCallerIdentity": get_caller_identity})
