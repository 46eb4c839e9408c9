"""Package indexes asked for torch's versions (side effects: the network, a cache on disk).

One question: which versions does the simple page URL/torch/ list (PEP 503: PyTorch's index, a
mirror, the ordinary package index, or a folder served by `python -m http.server`). The answer is
a planning.catalog.Listing, parsed from the page's wheel file names, and cached on disk with its
date, so `plan` and `run` agree and an index that stops answering still has its last word (said as
of when). Credentials in a URL go in an Authorization header only; the cache and every message
name the URL without them.

    cache   $VERCOMPARE_INDEX_CACHE, else $XDG_CACHE_HOME/vercompare/indexes, else ~/.cache/...
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import ssl
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from vercompare.images.secrets import split_credentials
from vercompare.planning.catalog import Listing

TIMEOUT = 8.0  # seconds: an index that does not answer in this is "did not answer"
FRESH = {"nightly": dt.timedelta(hours=1), "test": dt.timedelta(hours=1), "release": dt.timedelta(hours=6),
         "pypi": dt.timedelta(hours=6)}
_WHEEL = re.compile(r"^torch-(?P<version>[^-]+)-.*\.whl$")
_SDIST = re.compile(r"^torch-(?P<version>\d[^-]*)\.tar\.gz$")


def cache_root() -> Path:
    if os.environ.get("VERCOMPARE_INDEX_CACHE"):
        return Path(os.environ["VERCOMPARE_INDEX_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vercompare" / "indexes"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def versions_in(page: str) -> tuple[str, ...]:
    """The torch versions a simple page links to (wheels and source archives), each once."""
    parser = _Links()
    parser.feed(page)
    out = []
    for href in parser.hrefs:
        name = unquote(href.split("#")[0].rstrip("/").rsplit("/", 1)[-1])
        m = _WHEEL.match(name) or _SDIST.match(name)
        if m and m.group("version") not in out:
            out.append(m.group("version"))
    return tuple(out)


def _cache_path(url: str) -> Path:
    return cache_root() / (hashlib.sha256(url.encode()).hexdigest()[:24] + ".json")


def _read_cache(url: str) -> dict | None:
    try:
        data = json.loads(_cache_path(url).read_text())
        return data if data.get("url") == url else None
    except (OSError, ValueError):
        return None


def _write_cache(url: str, versions: tuple[str, ...], when: dt.datetime) -> None:
    path = _cache_path(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"url": url, "as_of": when.isoformat(), "versions": list(versions)}))
        os.replace(tmp, path)
    except OSError:  # a cache that cannot be written costs a question next time, nothing more
        pass


def fetch(url: str, kind: str = "release", ca_bundle: str | None = None, now: dt.datetime | None = None) -> Listing:
    """The listing of URL/torch/ (URL: an index root like https://download.pytorch.org/whl/cpu).
    Fresh enough in the cache: from there; else asked; not answering: the cache's last word, if any."""
    now = now or dt.datetime.now(dt.timezone.utc)
    clean, credential = split_credentials(url.rstrip("/"))
    page_url = f"{clean}/torch/"
    cached = _read_cache(page_url)
    if cached and now - dt.datetime.fromisoformat(cached["as_of"]) < FRESH.get(kind, FRESH["release"]):
        return Listing(page_url, tuple(cached["versions"]), as_of=cached["as_of"])
    request = urllib.request.Request(page_url, headers={"Accept": "text/html"})
    if credential is not None:
        token = base64.b64encode(f"{credential.login}:{credential.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            page = response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # the index answered: it has no torch there
            _write_cache(page_url, (), now)
            return Listing(page_url, (), as_of=now.isoformat())
        return _unanswered(page_url, cached, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return _unanswered(page_url, cached, str(reason)[:80] or type(exc).__name__)
    versions = versions_in(page)
    _write_cache(page_url, versions, now)
    return Listing(page_url, versions, as_of=now.isoformat())


def _unanswered(page_url: str, cached: dict | None, error: str) -> Listing:
    if cached:
        return Listing(page_url, tuple(cached["versions"]), error=error, as_of=cached["as_of"])
    return Listing(page_url, None, error=error)
