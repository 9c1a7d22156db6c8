"""SMS and mobile-push (platform) actions: platform applications and endpoints are stored
(in the catalog, so they survive a restart) and answered; a Publish to an endpoint is
accepted (or refused when the endpoint is disabled) and delivered nowhere. The SMS
account is in the sandbox with no verified numbers; OptInPhoneNumber and the opt-out
list act on numbers this server knows opted out (none until a person's STOP could reach
it: never, locally). SetSMSAttributes values are kept (in memory) and read back.
CreateSMSSandboxPhoneNumber records the number and leaves its one-time password in the
outbox; VerifySMSSandboxPhoneNumber with that password verifies it.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.sns.errors import (
    invalid_parameter,
    not_found,
    resource_not_found,
)
from mqlite.protocols.aws.wire import AwsError

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
PHONE = re.compile(r"^\+?[0-9]{1,15}$")  # E.164: up to 15 digits


_PLATFORMS = ("ADM", "APNS", "APNS_SANDBOX", "GCM", "BAIDU", "MPNS", "WNS")
APPS_NS, ENDPOINTS_NS = "sns/platform-apps", "sns/platform-endpoints"


class PlatformActions:
    """See module docstring."""

    def __init__(self, state: SnsState) -> None:
        self.state = state
        self.sms_attributes: dict[str, str] = {}
        self.sandbox: dict[str, dict[str, str]] = {}  # phone -> {status, otp}
        self.opted_out: set[str] = set()  # numbers OptInPhoneNumber has not yet opted back in

    @property
    def _kv(self) -> Any:
        return self.state.core.catalog

    # -- platform applications and endpoints -----------------------------------------------
    def _app(self, arn: Any) -> dict[str, Any]:
        app = self._kv.kv_get(APPS_NS, str(arn)) if arn else None
        if app is None:
            raise not_found("PlatformApplication does not exist")
        return dict(app)

    def _endpoint(self, arn: Any) -> dict[str, Any]:
        ep = self._kv.kv_get(ENDPOINTS_NS, str(arn)) if arn else None
        if ep is None:
            raise not_found("Endpoint does not exist")
        return dict(ep)

    async def create_platform_application(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CreatePlatformApplication: stored (credentials are kept, never used)."""
        name, platform = params.get("Name", ""), params.get("Platform", "")
        if platform not in _PLATFORMS:
            raise invalid_parameter("Invalid parameter: Platform")
        if not NAME.match(name):
            raise invalid_parameter("Invalid parameter: Name")
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account}:app/{platform}/{name}"
        self._kv.kv_put(APPS_NS, arn, {"attributes": dict(params.get("Attributes") or {})})
        return {"PlatformApplicationArn": arn}

    async def get_platform_application_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": self._app(params.get("PlatformApplicationArn"))["attributes"]}

    async def set_platform_application_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("PlatformApplicationArn")
        return self._merge(APPS_NS, arn, self._app(arn), params)

    def _merge(self, ns: str, arn: Any, entry: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Set*Attributes: the given attributes replace those of the same name."""
        entry["attributes"] = {**entry["attributes"], **(params.get("Attributes") or {})}
        self._kv.kv_put(ns, str(arn), entry)
        return {}

    async def list_platform_applications(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = f"arn:aws:sns:{ctx.region}:{ctx.account}:"  # the caller's account and region only
        return {"PlatformApplications": [
            {"PlatformApplicationArn": arn, "Attributes": app["attributes"]}
            for arn, app in self._kv.kv_items(APPS_NS) if arn.startswith(mine)]}

    async def delete_platform_application(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """DeletePlatformApplication: its endpoints go with it; idempotent."""
        arn = str(params.get("PlatformApplicationArn"))
        for ep_arn, ep in self._kv.kv_items(ENDPOINTS_NS):
            if ep["app"] == arn:
                self._kv.kv_delete(ENDPOINTS_NS, ep_arn)
        self._kv.kv_delete(APPS_NS, arn)
        return {}

    async def create_platform_endpoint(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CreatePlatformEndpoint: idempotent for the same token and attributes."""
        app_arn = str(params.get("PlatformApplicationArn"))
        self._app(app_arn)
        token = params.get("Token") or ""
        if not token:
            raise invalid_parameter("Invalid parameter: Token Reason: cannot be empty")
        attrs = dict(params.get("Attributes") or {})
        user_data = params.get("CustomUserData")
        if user_data is not None:  # an Attributes entry of the same name wins
            attrs.setdefault("CustomUserData", user_data)
        attrs.setdefault("Enabled", "true")
        attrs["Token"] = token
        for arn, ep in self._kv.kv_items(ENDPOINTS_NS):
            if ep["app"] == app_arn and ep["attributes"].get("Token") == token:
                if ep["attributes"] == attrs:
                    return {"EndpointArn": arn}
                raise invalid_parameter(
                    f"Invalid parameter: Token Reason: Endpoint {arn} already exists with the same Token, but different attributes.")
        _, _, rest = app_arn.partition(":app/")
        arn = f"arn:aws:sns:{ctx.region}:{ctx.account}:endpoint/{rest}/{uuid.uuid4()}"
        self._kv.kv_put(ENDPOINTS_NS, arn, {"app": app_arn, "attributes": attrs})
        return {"EndpointArn": arn}

    async def list_endpoints_by_platform_application(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        app_arn = str(params.get("PlatformApplicationArn"))
        self._app(app_arn)
        return {"Endpoints": [{"EndpointArn": arn, "Attributes": ep["attributes"]}
                              for arn, ep in self._kv.kv_items(ENDPOINTS_NS) if ep["app"] == app_arn]}

    async def get_endpoint_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Attributes": self._endpoint(params.get("EndpointArn"))["attributes"]}

    async def set_endpoint_attributes(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("EndpointArn")
        return self._merge(ENDPOINTS_NS, arn, self._endpoint(arn), params)

    async def delete_endpoint(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """DeleteEndpoint: idempotent."""
        self._kv.kv_delete(ENDPOINTS_NS, str(params.get("EndpointArn")))
        return {}

    def publish_to_endpoint(self, arn: str) -> dict[str, Any]:
        """Publish with an endpoint TargetArn: accepted and recorded, nothing delivered."""
        ep = self._kv.kv_get(ENDPOINTS_NS, arn)
        if ep is None:
            raise invalid_parameter("Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified")
        if str(ep["attributes"].get("Enabled", "true")).lower() != "true":
            raise AwsError("EndpointDisabledException", "Endpoint is disabled")
        return {"MessageId": str(uuid.uuid4())}

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
            if k not in allowed and not k.strip():
                raise invalid_parameter(f"Invalid parameter: {k}")
            if k == "DefaultSMSType" and v not in ("Promotional", "Transactional"):
                raise invalid_parameter("Invalid parameter: DefaultSMSType")
            self.sms_attributes[k] = v
        return {}

    async def check_if_phone_number_is_opted_out(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """CheckIfPhoneNumberIsOptedOut."""
        phone = params.get("phoneNumber") or ""
        if not PHONE.match(phone):
            raise invalid_parameter("Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
        return {"isOptedOut": phone in self.opted_out}

    async def list_phone_numbers_opted_out(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """ListPhoneNumbersOptedOut."""
        return {"phoneNumbers": sorted(self.opted_out)}

    async def opt_in_phone_number(self, ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        """OptInPhoneNumber."""
        phone = params.get("phoneNumber") or ""
        if not PHONE.match(phone):
            raise invalid_parameter("Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
        self.opted_out.discard(phone)
        return {}

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
