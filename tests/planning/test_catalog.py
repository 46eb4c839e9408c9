"""torch specs resolved against what the indexes say (pure: the catalog is data here)."""
from __future__ import annotations

import pytest

from vercompare.errors import BadInput
from vercompare.planning import catalog
from vercompare.planning import versions as specs
from vercompare.planning.catalog import Catalog, Listing
from vercompare.planning.matrix import Variant
from vercompare.planning.plan import listings_for, plan_variant

ROOT = "http://mirror.example/whl"
RELEASES = ("2.12.0+cpu", "2.13.0+cpu", "2.15.0+cpu", "2.17.0+cpu")
NIGHTLIES = ("2.16.0.dev20261120+cpu", "2.16.0.dev20261122+cpu")
PYPI = ("2.0.0", "2.0.1", "2.13.0", "2.13.0+cpu", "2.15.0")


def cat(release=RELEASES, nightly=NIGHTLIES, test=("2.16.0+cpu",), pypi=PYPI, **kw) -> Catalog:
    def listing(path, versions):
        return Listing(f"{ROOT}/{path}/torch/", versions, error="" if versions is not None else "refused")
    return Catalog({("release", "cpu"): listing("cpu", release), ("nightly", "cpu"): listing("nightly/cpu", nightly),
                    ("test", "cpu"): listing("test/cpu", test), ("pypi", ""): Listing("https://pypi/simple/torch/", pypi)},
                   **kw)


def plan(torch, catalog_=None, **kw):
    return plan_variant(Variant(specs.parse_torch(torch), specs.parse_diffusers("0.42.1")), "cpu",
                        catalog_ if catalog_ is not None else cat(), torch_index_url=ROOT, **kw)


def test_a_dated_nightly_is_that_exact_build_from_the_nightly_channel():
    p = plan("nightly@2026-11-20")
    assert p.torch.requirement == "torch==2.16.0.dev20261120+cpu" and p.torch.pre
    assert p.torch.index_url == f"{ROOT}/nightly/cpu"
    assert p.check_args() == ("--flavour", "cpu", "--torch", "2.16.0.dev20261120+cpu", "--nightly-date", "2026-11-20")


def test_a_date_without_a_build_names_the_dates_there_are():
    with pytest.raises(BadInput, match=r"no nightly of 2026-11-21 \(nearest: 2026-11-20, 2026-11-22\)"):
        plan("nightly@2026-11-21")


def test_nightly_is_the_newest_build_and_a_resumed_run_keeps_its_own():
    assert plan("nightly").torch.exact == "2.16.0.dev20261122+cpu"
    name = Variant(specs.parse_torch("nightly"), specs.parse_diffusers("0.42.1")).name
    resumed = plan("nightly", cat(pinned={name: "2.16.0.dev20261120+cpu"}))
    assert resumed.torch.exact == "2.16.0.dev20261120+cpu" and resumed.torch.index_url == f"{ROOT}/nightly/cpu"


def test_test_is_the_release_candidate():
    p = plan("test")
    assert p.torch.exact == "2.16.0+cpu" and p.torch.index_url == f"{ROOT}/test/cpu" and not p.torch.pre
    rc = plan("2.16.0rc1")
    assert rc.torch.exact == "2.16.0+cpu" and rc.torch.channel == "test"
    with pytest.raises(BadInput, match=r"no release candidate of 2.18.0 \(it has: 2.16.0\)"):
        plan("2.18.0rc1")


def test_stable_is_the_newest_release_the_index_has():
    assert plan("stable").torch.exact == "2.17.0+cpu"


def test_a_release_newer_than_the_table_is_planned_with_a_note():
    p = plan("2.17.0")
    assert p.torch.exact == "2.17.0+cpu" and p.python == "3.11"
    assert [n for n in p.torch.notes if "newer than the compatibility table" in n]


def test_a_release_no_index_has_is_refused_naming_the_nearest():
    with pytest.raises(BadInput, match=r"has no torch 9.9 \(nearest: 2.13.0, 2.15.0, 2.17.0\)"):
        plan("9.9")
    with pytest.raises(BadInput, match="has no torch 2.14.1"):
        plan("2.14.1")


def test_an_index_that_does_not_answer_falls_back_to_the_ordinary_one_then_the_table():
    fallback = plan("2.13.0", cat(release=None))
    assert fallback.torch.exact == "2.13.0+cpu" and fallback.torch.index_url == f"{ROOT}/cpu"
    assert any("did not answer" in n for n in fallback.torch.notes)
    offline = plan("2.14.1", cat(release=None, pypi=None))
    assert offline.torch.exact == "2.14.1+cpu"
    assert [n for n in offline.torch.notes if n.startswith("warning:") and "table decides" in n]


def test_the_ordinary_index_gives_the_default_build_or_a_cpu_one():
    old = plan("2.0.1", torch_index="pypi")
    assert (old.torch.exact, old.cuda, old.torch.index_url) == ("2.0.1", "cu117", None)
    assert [p.requirement for p in old.pins][:1] == ["numpy<2"]
    assert "transformers<4.50" in old.deps
    cpu = plan("2.13.0", torch_index="pypi")
    assert (cpu.torch.exact, cpu.cuda) == ("2.13.0+cpu", "cpu")


def test_installed_is_the_base_interpreters_torch():
    p = plan("installed", cat(installed="2.13.0+cpu", installed_flavour="cpu"))
    assert p.torch.installed and p.torch.exact == "2.13.0+cpu" and p.torch_version == "2.13.0"
    with pytest.raises(BadInput, match="no torch is installed"):
        plan("installed")


def test_an_exact_version_the_base_interpreter_has_needs_no_index():
    """venv/local: `--torch 2.13.0+cpu` where that is installed (a wheelhouse without torch, as on the
    GPU machine) is the installed build; a version it is not still asks the index."""
    empty = cat(release=(), installed="2.13.0+cpu", installed_flavour="cpu")
    for asked in ("2.13.0+cpu", "2.13.0"):
        p = plan(asked, empty)
        assert p.torch.exact == "2.13.0+cpu" and p.torch_version == "2.13.0", asked
    with pytest.raises(BadInput, match="has no torch 2.12.0"):
        plan("2.12.0", empty)
    assert not catalog._is_installed(specs.parse_torch("2.13.0+cu130"), empty)  # another build of it


def test_what_is_looked_up():
    def keys(torch, **kw):
        return listings_for(Variant(specs.parse_torch(torch), specs.parse_diffusers("0.42.1")), "cpu", **kw)
    assert keys("nightly@2026-11-20") == (("nightly", "cpu"),)
    assert keys("2.13.0") == (("release", "cpu"), ("pypi", ""))
    assert keys("2.0.1", torch_index="pypi") == (("pypi", ""),)
    assert keys("installed") == ()


def test_credentials_of_the_torch_index_never_reach_the_summary():
    p = plan_variant(Variant(specs.parse_torch("2.13.0"), specs.parse_diffusers("0.42.1")), "cpu", cat(),
                     torch_index_url="https://user:s3cret@mirror.example/whl")
    assert "s3cret" in p.torch.index_url and "s3cret" not in str(p.summary())


def test_nearest():
    assert catalog.nearest("2.14", ["2.12.0", "2.13.0", "2.15.0", "2.0.1"]) == ["2.12.0", "2.13.0", "2.15.0"]
    assert catalog.dev_date("2.16.0.dev20261120+cpu") == "2026-11-20"
