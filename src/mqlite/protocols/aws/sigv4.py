"""AWS Signature Version 4 verification, header form and presigned-query form (sans-IO).

`credential_scope(headers, query)` reads the signer's `Credential=AKID/date/region/
service/aws4_request` without verifying anything (routing and region use it).
`verify(request, keys, now, rules)` checks a request the way AWS does: the clock-skew
window against the server's clock (15 minutes; Kinesis and Firehose 5), the credential
scope (date = X-Amz-Date's day, region, the called service, terminator), signed `host`
and `x-amz-date`, the payload hash against the body, presigned expiry (`X-Amz-Expires`
required, at most 7 days), then the signature itself (canonical request, string to sign,
HMAC-SHA256 key chain). Errors use the service's dialect (`rules_for`): query services
(SQS, SNS, STS) answer `SignatureDoesNotMatch`/`InvalidClientTokenId`/
`MissingAuthenticationToken` (403), Coral JSON services `InvalidSignatureException` etc.
(400), with AWS's texts. With no `keys` configured every request is accepted (the local
default).
Pure functions over `SignedRequest` values; no I/O, no asyncio.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from mqlite.protocols.aws.wire import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True, slots=True)
class Credential:
    access_key: str
    date: str
    region: str
    service: str


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    raw_path: str  # as sent, percent-encoded, without the query
    query: Sequence[tuple[str, str]]  # decoded pairs of the URL's query string
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


def _parse_credential(value: str) -> Credential | None:
    parts = value.split("/")
    if len(parts) < 5:
        return None
    return Credential("/".join(parts[:-4]), parts[-4], parts[-3], parts[-2])


def _auth_fields(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    rest = header.removeprefix(ALGORITHM)
    for item in rest.split(","):
        key, _, value = item.strip().partition("=")
        fields[key.strip()] = value.strip()
    return fields


_SCOPES: dict[str, Credential | None] = {}  # Credential= value -> parsed (bounded)
_SCOPES_MAX = 1024


def _scope_of(cred: str) -> Credential | None:
    hit = _SCOPES.get(cred, _SCOPES)
    if hit is not _SCOPES:
        return hit  # type: ignore[return-value]
    parsed = _parse_credential(cred)
    if len(_SCOPES) >= _SCOPES_MAX:
        _SCOPES.clear()
    _SCOPES[cred] = parsed
    return parsed


def credential_scope(headers: Mapping[str, str], query: Mapping[str, str]) -> Credential | None:
    """The signer's credential scope, from `Authorization` or `X-Amz-Credential`.

    Hot path (every request): the `Credential=` item is sliced out of the header without
    splitting the rest, and parsed scopes are memoized (a client reuses one scope all day)."""
    auth = headers.get("authorization")
    if auth and auth.startswith(ALGORITHM):
        i = auth.find("Credential=", len(ALGORITHM))
        if i < 0 or auth[i - 1] not in " ,\t":
            cred = _auth_fields(auth).get("Credential")  # unusual spacing: the slow parse
        else:
            j = auth.find(",", i)
            cred = (auth[i + 11:] if j < 0 else auth[i + 11:j]).strip()
        return _scope_of(cred) if cred else None
    cred = query.get("X-Amz-Credential")
    return _parse_credential(cred) if cred else None


def _signing_key(secret: str, cred: Credential) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), cred.date.encode(), hashlib.sha256).digest()
    for part in (cred.region, cred.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical_path(raw_path: str) -> str:
    path = raw_path or "/"
    normalized = posixpath.normpath(path) if path not in ("", "/") else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    encoded = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs if k != "X-Amz-Signature"
    )
    return "&".join(f"{k}={v}" for k, v in encoded)


def _canonical_headers(headers: Mapping[str, str], signed: Sequence[str]) -> str:
    return "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)


def _string_to_sign(req: SignedRequest, signed: Sequence[str], amz_date: str, cred: Credential,
                    payload_hash: str) -> str:
    canonical = "\n".join(
        [
            req.method.upper(),
            _canonical_path(req.raw_path),
            _canonical_query(req.query),
            _canonical_headers(req.headers, signed),
            ";".join(signed),
            payload_hash,
        ]
    )
    scope = f"{cred.date}/{cred.region}/{cred.service}/aws4_request"
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])


@dataclass(frozen=True, slots=True)
class Dialect:
    """The codes a family of AWS services answers signature failures with.

    Query services (SQS, SNS, STS) answer the IAM common errors; the Coral JSON services
    (Kinesis, Firehose, EventBridge) answer `...Exception` codes with HTTP 400, as real
    clients report them (e.g. Kinesis `InvalidSignatureException: Signature expired: ...`)."""

    missing: tuple[str, int]
    incomplete: tuple[str, int]
    unknown_key: tuple[str, int]
    invalid: tuple[str, int]


QUERY_DIALECT = Dialect(("MissingAuthenticationToken", 403), ("IncompleteSignature", 400),
                        ("InvalidClientTokenId", 403), ("SignatureDoesNotMatch", 403))
CORAL_DIALECT = Dialect(("MissingAuthenticationTokenException", 400),
                        ("IncompleteSignatureException", 400),
                        ("UnrecognizedClientException", 400), ("InvalidSignatureException", 400))


@dataclass(frozen=True, slots=True)
class ServiceRules:
    """What one service demands of a signature: its signing name, error dialect, and
    clock-skew window (AWS: 15 minutes; Kinesis and Firehose answer "- 5 min.")."""

    signing_name: str
    dialect: Dialect = QUERY_DIALECT
    skew_minutes: int = 15


_CORAL = {"kinesis": 5, "firehose": 5, "events": 15}


def rules_for(signing_name: str) -> ServiceRules:
    """The signature rules of the service AWS signs as `signing_name`."""
    if signing_name in _CORAL:
        return ServiceRules(signing_name, CORAL_DIALECT, _CORAL[signing_name])
    return ServiceRules(signing_name)


MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # a presigned URL lives at most 7 days
_AMZ_FORMAT = "%Y%m%dT%H%M%SZ"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime(_AMZ_FORMAT)


def _parse_date(value: str) -> dt.datetime | None:
    """`X-Amz-Date` (ISO 8601 basic) or an HTTP `Date` header, as an aware datetime."""
    try:
        return dt.datetime.strptime(value, _AMZ_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _check_time(issued: dt.datetime, amz_date: str, now: dt.datetime, minutes: int,
                invalid: tuple[str, int]) -> None:
    """AWS's clock-skew window, with its texts word for word."""
    window = dt.timedelta(minutes=minutes)
    if issued < now - window:
        raise AwsError(invalid[0], f"Signature expired: {amz_date} is now earlier than "
                       f"{_stamp(now - window)} ({_stamp(now)} - {minutes} min.)", invalid[1])
    if issued > now + window:
        raise AwsError(invalid[0], f"Signature not yet current: {amz_date} is still later than "
                       f"{_stamp(now + window)} ({_stamp(now)} + {minutes} min.)", invalid[1])


_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def _scope_problems(raw: str, cred: Credential, amz_date: str, service: str) -> str:
    """AWS's credential-scope complaints, concatenated in its order (empty when fine)."""
    problems = []
    if not _REGION.fullmatch(cred.region):
        problems.append(f"Credential should be scoped to a valid region, not '{cred.region}'. ")
    if cred.service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'. ")
    terminator = raw.rstrip("/").rsplit("/", 1)[-1]
    if terminator != "aws4_request":
        problems.append(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )
    if cred.date != amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{cred.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return "".join(problems).strip()


def verify(req: SignedRequest, keys: Mapping[str, str], now: dt.datetime | None = None,
           rules: ServiceRules | None = None) -> Credential | None:
    """Check `req`'s SigV4 signature against `keys` (access key -> secret) the way AWS
    does, in AWS's order: required parameters, date format and clock skew (or presigned
    expiry), signed `host` (and `x-amz-date` when sent), credential scope (region,
    service, terminator, date), access key, payload hash against the body, signature.
    `now` is the server's clock; `rules` the routed service's (`rules_for`)."""
    query = dict(req.query)
    if not keys:
        return credential_scope(req.headers, query)
    rules = rules or ServiceRules("")
    dialect = rules.dialect
    moment = now or dt.datetime.now(dt.UTC)
    auth = req.headers.get("authorization", "")
    presigned = "X-Amz-Signature" in query or "X-Amz-Algorithm" in query

    def fail(kind: tuple[str, int], message: str) -> AwsError:
        return AwsError(kind[0], message, kind[1])

    if auth.startswith(ALGORITHM):
        fields = _auth_fields(auth)
        missing = [f for f in ("Credential", "Signature", "SignedHeaders") if f not in fields]
        message = "".join(f"Authorization header requires '{f}' parameter. " for f in missing)
        amz_header = "x-amz-date" if "x-amz-date" in req.headers else "date"
        amz_date = req.headers.get(amz_header, "")
        if not amz_date:
            message += ("Authorization header requires existence of either a 'X-Amz-Date' or "
                        "a 'Date' header. ")
        if message:
            raise fail(dialect.incomplete, message + f"Authorization={ALGORITHM}")
        raw_cred = fields["Credential"]
        signed = [h for h in fields["SignedHeaders"].split(";") if h]
        signature = fields["Signature"]
        expires = None
    elif presigned:
        names = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders",
                 "X-Amz-Date", "X-Amz-Expires")
        message = "".join(f"AWS query-string parameters must include '{n}'. "
                          for n in names if not query.get(n))
        if message:
            raise fail(dialect.incomplete, message + "Re-examine the query-string parameters.")
        raw_cred = query["X-Amz-Credential"]
        signed = [h for h in query["X-Amz-SignedHeaders"].split(";") if h]
        signature = query["X-Amz-Signature"]
        amz_header, amz_date, expires = "", query["X-Amz-Date"], query["X-Amz-Expires"]
    else:
        raise fail(dialect.missing, "Request is missing Authentication Token")
    issued = _parse_date(amz_date)
    if issued is None:
        raise fail(dialect.incomplete, f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                   "See http://en.wikipedia.org/wiki/ISO_8601")
    if amz_header == "date":
        amz_date = _stamp(issued)  # the scope date and the string to sign use basic format
    if expires is None:
        _check_time(issued, amz_date, moment, rules.skew_minutes, dialect.invalid)
    else:
        if not expires.isdigit() or int(expires) > MAX_PRESIGN_SECONDS:
            raise AwsError("AuthorizationQueryParametersError",
                           "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400)
        if moment > issued + dt.timedelta(seconds=int(expires)):
            raise AwsError("AccessDenied", "Request has expired", 403)
        if issued > moment + dt.timedelta(minutes=rules.skew_minutes):
            raise AwsError("AccessDenied", "Request is not valid yet", 403)
    if "host" not in signed:
        raise fail(dialect.invalid, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if amz_header == "x-amz-date" and "x-amz-date" not in signed:
        raise fail(dialect.invalid, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
    cred = _parse_credential(raw_cred.rstrip("/"))
    if cred is None or not signature:
        raise fail(dialect.incomplete, "Credential must have exactly 5 slash-delimited elements, "
                   f"e.g. keyid/date/region/service/term, got '{raw_cred}'")
    problems = _scope_problems(raw_cred, cred, amz_date, rules.signing_name or cred.service)
    if problems:
        raise fail(dialect.invalid, problems)
    secret = keys.get(cred.access_key)
    if secret is None:
        raise fail(dialect.unknown_key, "The security token included in the request is invalid.")
    # The payload hash is the body's: a signed X-Amz-Content-Sha256 that differs from the
    # body means the body was swapped under the signature. UNSIGNED-PAYLOAD only for a
    # presigned URL without a body (nothing to swap).
    body_hash = hashlib.sha256(req.body).hexdigest()
    claimed = req.headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != body_hash and not (claimed == UNSIGNED and not req.body):
        raise fail(dialect.invalid, _MISMATCH)
    candidates = [claimed] if claimed is not None else [body_hash]
    if presigned and not req.body and UNSIGNED not in candidates:
        candidates.append(UNSIGNED)
    key = _signing_key(secret, cred)
    for payload_hash in candidates:
        sts = _string_to_sign(req, signed, amz_date, cred, payload_hash)
        expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return cred
    raise fail(dialect.invalid, _MISMATCH)


def decode_raw_path(raw: str) -> str:
    """The decoded path of a raw request target (query stripped)."""
    return unquote(raw.split("?", 1)[0])
