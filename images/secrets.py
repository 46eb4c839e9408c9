"""Credentials: kept out of every image layer, label, build history, run.json, result and log.

A private index is given as a URL with credentials (`https://user:token@host/simple`).
The build sees the URL without them; the credentials reach pip as a netrc file that a
RUN step fetches from a loopback server and deletes in the same step, so no layer keeps
it. What we write down (run.json's command and settings) is redacted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


@dataclass(frozen=True)
class Credential:
    host: str
    login: str
    password: str = ""

    def netrc_line(self) -> str:
        return f"machine {self.host} login {self.login} password {self.password}\n"


def split_credentials(url: str) -> tuple[str, Credential | None]:
    """('https://host/simple', Credential) from 'https://user:pass@host/simple'."""
    parts = urlsplit(url)
    if not parts.username:
        return url, None
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, Credential(host, parts.username, parts.password or "")


def redact(text: str) -> str:
    """Any user:password@ in a URL becomes ***@."""
    return _USERINFO.sub(lambda m: m.group("scheme") + "***@", text)


def netrc_text(credentials) -> str:
    return "".join(c.netrc_line() for c in credentials if c is not None)
