"""The cached runner-envs outlive a clone (CI keeps /var/cache between runs): each checkout must
import its own runner/, and a link left dangling by a deleted clone must not break the next run
(it failed CI once: FileExistsError on a dangling `vercompare_runner`)."""
import os
from pathlib import Path

import envs


def _checkout(root: Path, name: str) -> Path:
    repo = root / name
    (repo / "runner").mkdir(parents=True)
    return repo


def _link_for(monkeypatch, root: Path, repo: Path) -> Path:
    monkeypatch.setattr(envs, "ROOT", root / "cache")
    monkeypatch.setattr(envs, "REPO", repo)
    return envs._package_dir() / "vercompare_runner"


def test_each_checkout_links_its_own_runner(tmp_path, monkeypatch):
    a, b = _checkout(tmp_path, "a"), _checkout(tmp_path, "b")
    link_a = _link_for(monkeypatch, tmp_path, a)
    link_b = _link_for(monkeypatch, tmp_path, b)
    assert link_a.resolve() == a / "runner"
    assert link_b.resolve() == b / "runner"


def test_a_dangling_link_is_replaced(tmp_path, monkeypatch):
    gone, repo = _checkout(tmp_path, "gone"), _checkout(tmp_path, "repo")
    link = _link_for(monkeypatch, tmp_path, repo)
    link.unlink()
    os.symlink(gone / "runner", link)
    (gone / "runner").rmdir()
    assert link.is_symlink() and not link.exists()  # the state CI met
    assert _link_for(monkeypatch, tmp_path, repo).resolve() == repo / "runner"
