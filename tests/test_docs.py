"""The README guides and the docs/ pages hold the rest: the README stays short, keeps the two
quickstart commands word for word, and every relative link in it and in docs/ resolves (the file,
and the heading an #anchor names, as GitHub makes anchors)."""
from __future__ import annotations

import re
from pathlib import Path

from cli import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchor of each heading: lower case, punctuation but - and _ dropped, spaces -> -."""
    out, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # code is not a link
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]  # relative only


def test_every_relative_link_resolves():
    broken, checked = [], 0
    for page in PAGES:
        for target in links(page):
            checked += 1
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert checked >= 10 and not broken, broken


def test_the_link_check_finds_a_dead_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [no heading](#nope)\n```\n[code](x.md)\n```\n")
    assert links(page) == ["#title", "missing.md", "#nope"] and anchors(page) == {"title"}


def test_the_readme_is_short_and_keeps_the_quickstart():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "bash scripts/quickstart.sh" in readme and "bash scripts/test.sh" in readme
    # every page of docs/ is reachable from the README
    linked = {Path(t.partition("#")[0]).name for t in links(REPO / "README.md")}
    assert {p.name for p in PAGES[1:]} <= linked, {p.name for p in PAGES[1:]} - linked
