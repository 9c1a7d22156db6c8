"""SMS and mobile-push (platform) actions, answered as AWS does for an account that has
neither configured: no platform applications or endpoints exist (their lookups are
`NotFound`; creating one fails credential validation, as AWS's push services reject
invented credentials), the SMS account is in the sandbox with no verified numbers and
nothing opted out. SetSMSAttributes values are kept (in memory) and read back.
CreateSMSSandboxPhoneNumber records the number and leaves its one-time password in the
outbox; VerifySMSSandboxPhoneNumber with that password verifies it.
"""

from __future__ import annotations

import secrets
from typing import Any

from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.sns.errors import (
    invalid_parameter,
    not_found,
    resource_not_found,
)
from mqlite.protocols.aws.wire import AwsError


class PlatformActions:
    """See module docstring."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self.sms_attributes: dict[str, str] = {}
        self.sandbox: dict[str, dict[str, str]] = {}  # phone -> {status, otp}

    # -- platform applications and endpoints -----------------------------------------------
    async def create_platform_application(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CreatePlatformApplication: the push service would reject local credentials."""
        platform = params.get("Platform", "")
        if platform not in ("ADM", "APNS", "APNS_SANDBOX", "GCM", "BAIDU", "MPNS", "WNS"):
            raise invalid_parameter("Invalid parameter: Platform")
        raise invalid_parameter("Invalid parameter: Attributes Reason: Platform credentials are invalid")

    async def platform_not_found(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """Get/SetPlatformApplicationAttributes, CreatePlatformEndpoint,
        ListEndpointsByPlatformApplication: no such application."""
        raise not_found("PlatformApplication does not exist")

    async def endpoint_not_found(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """Get/SetEndpointAttributes: no such endpoint."""
        raise not_found("Endpoint does not exist")

    async def nothing(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """DeletePlatformApplication, DeleteEndpoint, OptInPhoneNumber: nothing to do."""
        return {}

    async def list_platform_applications(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListPlatformApplications: none."""
        return {"PlatformApplications": []}

    # -- SMS ---------------------------------------------------------------------------------
    async def get_sms_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetSMSAttributes: the values set (all, or the names asked for)."""
        names = params.get("attributes")
        attrs = self.sms_attributes
        return {"attributes": {k: v for k, v in attrs.items() if not names or k in names}}

    async def set_sms_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """SetSMSAttributes."""
        allowed = {"MonthlySpendLimit", "DeliveryStatusIAMRole", "DeliveryStatusSuccessSamplingRate",
                   "DefaultSenderID", "DefaultSMSType", "UsageReportS3Bucket"}
        for k, v in (params.get("attributes") or {}).items():
            if k not in allowed:
                raise invalid_parameter(f"Invalid parameter: {k}")
            if k == "DefaultSMSType" and v not in ("Promotional", "Transactional"):
                raise invalid_parameter("Invalid parameter: DefaultSMSType")
            self.sms_attributes[k] = v
        return {}

    async def check_if_phone_number_is_opted_out(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CheckIfPhoneNumberIsOptedOut: nobody has opted out."""
        if not params.get("phoneNumber"):
            raise invalid_parameter("Invalid parameter: PhoneNumber")
        return {"isOptedOut": False}

    async def list_phone_numbers_opted_out(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListPhoneNumbersOptedOut: none."""
        return {"phoneNumbers": []}

    async def get_sms_sandbox_account_status(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """GetSMSSandboxAccountStatus: in the sandbox."""
        return {"IsInSandbox": True}

    async def list_sms_sandbox_phone_numbers(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListSMSSandboxPhoneNumbers."""
        return {"PhoneNumbers": [{"PhoneNumber": p, "Status": s["status"]} for p, s in self.sandbox.items()]}

    async def create_sms_sandbox_phone_number(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CreateSMSSandboxPhoneNumber: the one-time password goes to the outbox."""
        from mqlite.protocols.aws.sns.outbox import keep

        phone = params.get("PhoneNumber", "")
        if not phone.startswith("+") or not phone[1:].isdigit():
            raise invalid_parameter("Invalid parameter: PhoneNumber")
        otp = f"{secrets.randbelow(10**6):06d}"
        self.sandbox[phone] = {"status": "Pending", "otp": otp}
        keep(self.state, {"Type": "SMSSandboxVerification", "Protocol": "sms", "Endpoint": phone,
                          "Message": f"Your verification code is {otp}", "OneTimePassword": otp})
        return {}

    async def verify_sms_sandbox_phone_number(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """VerifySMSSandboxPhoneNumber."""
        entry = self.sandbox.get(params.get("PhoneNumber", ""))
        if entry is None:
            raise resource_not_found("Phone number does not exist")
        if entry["otp"] != params.get("OneTimePassword"):
            raise AwsError("VerificationException", "Invalid one-time password")
        entry["status"] = "Verified"
        return {}

    async def delete_sms_sandbox_phone_number(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """DeleteSMSSandboxPhoneNumber."""
        if self.sandbox.pop(params.get("PhoneNumber", ""), None) is None:
            raise resource_not_found("Phone number does not exist")
        return {}

    async def list_origination_numbers(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListOriginationNumbers: none."""
        return {"PhoneNumbers": []}
