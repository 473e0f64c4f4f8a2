"""Kraken's request signature, as a pure function (Spot REST Authentication guide).

    message  = uri_path + SHA256(str(nonce) + postdata)      (SHA256 as raw 32 bytes)
    API-Sign = base64(HMAC_SHA512(base64decode(secret), message))

`postdata` must be exactly the bytes sent in the body: the client signs what it sends and the simulator
verifies what it received, never a re-encoding of the parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(uri_path: str, nonce: int | str, postdata: bytes | str, secret_b64: str) -> str:
    """Return the ``API-Sign`` header value for one private request.

    Args:
        uri_path: the request path, e.g. ``/0/private/Ledgers``.
        nonce: the nonce as sent in the body.
        postdata: the exact request body (urlencoded form or JSON text).
        secret_b64: the API secret as Kraken hands it out (base64).

    Raises:
        ValueError: when the secret is not valid base64.
    """
    body = postdata.encode() if isinstance(postdata, str) else postdata
    digest = hashlib.sha256(str(nonce).encode() + body).digest()
    key = base64.b64decode(secret_b64, validate=True)
    mac = hmac.new(key, uri_path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def verify(uri_path: str, nonce: int | str, postdata: bytes, secret_b64: str, signature: str) -> bool:
    """True when `signature` is the valid ``API-Sign`` for this request (constant-time comparison)."""
    try:
        expected = sign(uri_path, nonce, postdata, secret_b64)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)
