"""The rules every setting is checked by: labels, currencies, tiers, endpoints, secrets, the database URL.

Each check raises `SettingsError`, whose message names the setting and what is wrong in one line and never
contains a secret.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from pathlib import Path

from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.errors import KrakenEtlError

# An account label: 1-63 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit; matched
# whole (`fullmatch`: a trailing newline is not a second account). The one rule for every way a label
# enters: KRAKEN_ACCOUNT, the TOML config, `--account` on every command, `import --account`.
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
LABEL_RULE = "1-63 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit"
_DB_URL = re.compile(r"^postgres(?:ql)?(?:\+psycopg)?://[^\s]*$")
# A reporting currency: a canonical asset code (USD, EUR, BTC), 2-10 ASCII capitals or digits.
_CURRENCY = re.compile(r"[A-Z][A-Z0-9]{1,9}")


class SettingsError(KrakenEtlError, ValueError):
    """A setting is missing or wrong; the message names it and never contains a secret."""

    exit_code = 2  # a configuration problem


def check_tier(value: str, setting: str) -> str:
    tier = value.strip().lower()
    if tier not in TIERS:
        raise SettingsError(f"{setting}: unknown tier {value!r}; expected one of {', '.join(TIERS)}")
    return tier


def check_currency(value: str, setting: str) -> str:
    """A reporting currency: a canonical code (USD, EUR, BTC), upper-cased.

    Raises:
        SettingsError: naming `setting`.
    """
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.fullmatch(code):
        shown = ascii(value[:40]) if isinstance(value, str) else type(value).__name__
        raise SettingsError(f"{setting}: reporting currency {shown} must be a canonical asset code such as USD")
    return code


def check_label(value: str, setting: str) -> str:
    """An account label checked against the one rule (`LABEL_RULE`), whole: never stripped or folded.

    Raises:
        SettingsError: naming `setting` and the rule (the label is shown escaped, cut to 80 characters).
    """
    if not isinstance(value, str) or not _LABEL.fullmatch(value):
        shown = ascii(value[:80]) if isinstance(value, str) else type(value).__name__
        raise SettingsError(f"{setting}: account label {shown} must be {LABEL_RULE}")
    return value


def check_api_secret(secret: SecretStr | None, setting: str) -> SecretStr | None:
    """Kraken API secrets are base64; refuse anything else up front (the message never shows the value).

    Raises:
        SettingsError: naming `setting`.
    """
    if secret is None:
        return None
    try:
        base64.b64decode(secret.get_secret_value(), validate=True)
    except ValueError:
        raise SettingsError(f"{setting}: not a Kraken API secret (expected base64 text)") from None
    return secret


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, setting: str, secure: str, plain: str) -> str:
    """An API endpoint: `secure` (``https``/``wss``) anywhere, `plain` (``http``/``ws``) only on loopback.

    Signed requests carry the API key; sent in clear text to another machine they could be read on the way.
    TLS verification has no switch at all (httpx verifies against the system trust store).

    Raises:
        SettingsError: naming `setting` (the URL is shown: it holds no secret).
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError(f"{setting}: {url!r} is not a URL") from None
    if parts.scheme not in (secure, plain) or not host:
        raise SettingsError(f"{setting}: {url!r} is not a {secure}:// URL")
    if parts.scheme == plain and not _is_loopback(host):
        raise SettingsError(f"{setting}: {url!r} must use {secure}:// ({plain}:// is allowed only for a "
                            "loopback address such as the local simulator)")
    return url


def read_secret_file(path: str | Path, setting: str) -> SecretStr:
    """Read a secret from a file (Docker-secrets style), stripping the trailing newline.

    Raises:
        SettingsError: when the file cannot be read or is empty (the message names the setting and path).
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{setting}: cannot read secret file {str(path)!r} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: secret file {str(path)!r} is not UTF-8 text") from None
    if not text:
        raise SettingsError(f"{setting}: secret file {str(path)!r} is empty")
    return SecretStr(text)


def normalise_database_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver; raise SettingsError (without echoing it) if malformed."""
    url = url.strip()
    if not _DB_URL.match(url):
        scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
        raise SettingsError(
            f"DATABASE_URL: not a PostgreSQL URL (scheme {scheme!r}); expected postgresql+psycopg://user@host/db"
        )
    rest = url.split("://", 1)[1]
    if not rest or rest.startswith("?"):
        raise SettingsError("DATABASE_URL: no host or database in the URL")
    from urllib.parse import urlsplit

    try:
        urlsplit("postgresql://" + rest).port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError("DATABASE_URL: the port is not a number in 0-65535") from None
    return "postgresql+psycopg://" + rest
