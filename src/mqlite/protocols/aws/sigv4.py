"""AWS Signature Version 4 verification, header form and presigned-query form (sans-IO).

`credential_scope(headers, query)` reads the signer's `Credential=AKID/date/region/
service/aws4_request` without verifying anything (routing and region use it).
`verify(request, keys, now)` checks the signature the way AWS does: canonical request
(method, normalized URI path, sorted query, signed headers, payload hash or
`X-Amz-Content-Sha256`), string to sign, HMAC-SHA256 key chain. With no `keys`
configured it accepts every request (the local default); with keys, an unknown access key
is `InvalidClientTokenId`, a wrong signature `SignatureDoesNotMatch`, no signature
`MissingAuthenticationToken` (all HTTP 403, as AWS answers).
Pure functions over `SignedRequest` values; no I/O, no asyncio.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import posixpath
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


def _denied(code: str, message: str) -> AwsError:
    return AwsError(code, message, 403)


def verify(req: SignedRequest, keys: Mapping[str, str], now: dt.datetime | None = None) -> Credential | None:
    """Check `req`'s SigV4 signature against `keys` (access key -> secret); see module doc."""
    query = dict(req.query)
    if not keys:
        return credential_scope(req.headers, query)
    auth = req.headers.get("authorization", "")
    presigned = "X-Amz-Signature" in query
    if auth.startswith(ALGORITHM):
        fields = _auth_fields(auth)
        cred = _parse_credential(fields.get("Credential", ""))
        signed = [h for h in fields.get("SignedHeaders", "").split(";") if h]
        signature = fields.get("Signature", "")
        amz_date = req.headers.get("x-amz-date") or req.headers.get("date", "")
    elif presigned:
        cred = _parse_credential(query.get("X-Amz-Credential", ""))
        signed = [h for h in query.get("X-Amz-SignedHeaders", "").split(";") if h]
        signature = query.get("X-Amz-Signature", "")
        amz_date = query.get("X-Amz-Date", "")
        expires = query.get("X-Amz-Expires")
        try:
            issued = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            if expires is not None:
                moment = now or dt.datetime.now(dt.UTC)
                if moment > issued + dt.timedelta(seconds=int(expires)):
                    raise _denied("AccessDenied", "Request has expired")
        except ValueError:
            raise _denied("SignatureDoesNotMatch", "X-Amz-Date is not a valid date") from None
    else:
        raise _denied(
            "MissingAuthenticationToken", "Request is missing Authentication Token"
        )
    if cred is None or not signature:
        raise _denied("IncompleteSignature", "The request signature is incomplete.")
    secret = keys.get(cred.access_key)
    if secret is None:
        raise _denied(
            "InvalidClientTokenId", "The security token included in the request is invalid."
        )
    key = _signing_key(secret, cred)
    candidates = []
    if "x-amz-content-sha256" in req.headers:
        candidates.append(req.headers["x-amz-content-sha256"])
    candidates.append(hashlib.sha256(req.body).hexdigest())
    if presigned:
        candidates.append(UNSIGNED)
    for payload_hash in candidates:
        sts = _string_to_sign(req, signed, amz_date, cred, payload_hash)
        expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return cred
    raise _denied(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service "
        "documentation for details.",
    )


def decode_raw_path(raw: str) -> str:
    """The decoded path of a raw request target (query stripped)."""
    return unquote(raw.split("?", 1)[0])
