"""Behaviour assertions every backend must pass (docker, venv, local), on a finished run
directory: the same results format whatever ran the runner.

    from behaviours import assert_complete_results, assert_run_json

Plain functions (no fixtures), so the docker tests and the venv/local tests share them.
"""
from __future__ import annotations

import json
from pathlib import Path

from vercompare_runner import schema


def read_results(run_dir: Path) -> list[dict]:
    records, problems = schema.read_records(str(Path(run_dir) / "results.jsonl"))
    assert not problems, f"unreadable lines in results.jsonl: {problems}"
    return records


def read_run_json(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "run.json").read_text())


def _explain(record: dict) -> str:
    error = record.get("error") or {}
    return (f"{record['variant'].get('name')} / {record['case'].get('id')}: {record['status']} "
            f"at {record.get('phase')}: {error.get('type')}: {error.get('message')}\n{error.get('tail', '')[-1500:]}")


def assert_complete_results(run_dir: Path, variants: dict[str, dict[str, str]], cases: int,
                            repeats: int | None = None) -> list[dict]:
    """Every variant x case has exactly one record per round, status ok, measured.

    variants: {variant name: {package: exact version it must have resolved to}}, e.g.
              {"torch=2.13.0+cpu,diffusers=0.36.0": {"diffusers": "0.36.0"}}.
    cases:    how many cases each variant ran.
    repeats:  measured calls per case (samples per record), when known.
    """
    records = read_results(run_dir)
    failed = [r for r in records if r["status"] != "ok"]
    assert not failed, "failed cells:\n" + "\n".join(_explain(r) for r in failed)
    by_variant: dict[str, list[dict]] = {}
    for record in records:
        by_variant.setdefault(record["variant"]["name"], []).append(record)
    assert sorted(by_variant) == sorted(variants), f"variants in results: {sorted(by_variant)}"
    for name, expected in variants.items():
        mine = by_variant[name]
        ids = [r["case"]["id"] for r in mine]
        # one record per case and round; every case ran in every round of the run
        cells = [(r["case"]["id"], schema.round_of(r)) for r in mine]
        rounds = sorted({round_ for _, round_ in cells})
        assert rounds == list(range(1, len(rounds) + 1)), f"{name}: rounds {rounds}"
        assert len(cells) == len(set(cells)) == cases * len(rounds) and len(set(ids)) == cases, (
            f"{name}: {len(ids)} records for {cases} cases x {len(rounds)} rounds: {ids}")
        for record in mine:
            resolved = record["variant"].get("resolved") or {}
            for package, version in expected.items():
                assert resolved.get(package) == version, f"{name}: {package} resolved to {resolved.get(package)}"
            samples = record["samples"].get("it_per_s") or []
            assert samples and all(s > 0 for s in samples), f"{name}: no it/s samples: {record['samples']}"
            if repeats is not None:
                assert len(samples) == repeats, f"{name}: {len(samples)} samples for {repeats} repeats"
            assert record["metrics"].get("it_per_s", 0) > 0, f"{name}: metrics {record['metrics']}"
            assert record["env"], f"{name}: the record carries no env"
            assert record["case"]["id"] == schema.case_id(record["case"])
    return records


def assert_run_json(run_dir: Path, backend: str, variants: dict[str, dict[str, str]]) -> dict:
    """run.json names the backend and, per variant, what its environment resolved to."""
    meta = read_run_json(run_dir)
    assert meta["kind"] == "vercompare.run"
    assert meta["backend"] == backend
    assert meta.get("finished_at"), "run.json was not finished"
    recorded = {v["name"]: v for v in meta["variants"]}
    assert sorted(recorded) == sorted(variants), f"variants in run.json: {sorted(recorded)}"
    for name, expected in variants.items():
        entry = recorded[name]
        assert not entry.get("build_failed"), f"{name}: build failed, log {entry.get('build_log')}"
        assert entry["image"]["backend"] == backend, entry["image"]
        for package, version in expected.items():
            assert entry["resolved"].get(package) == version, f"{name}: run.json resolved {entry['resolved']}"
    return meta


def assert_logs(run_dir: Path, variants) -> None:
    """One runner log per variant (what the runner printed, for a failure's post-mortem)."""
    from vercompare.rundir import slugify

    for name in variants:
        assert (Path(run_dir) / "logs" / f"runner-{slugify(name)}.log").is_file(), f"no runner log for {name}"


# Run by a variant's interpreter (never writing bytecode itself): the runner's packages imported as a
# pipeline case imports them, then every module of theirs whose source has no .pyc beside it for this
# Python - what each runner process would otherwise compile from source at its start.
UNCOMPILED = r"""
import importlib.util, os, sys
import torch, diffusers, transformers
from diffusers import StableDiffusionPipeline
# (torch.ops and torch.classes are objects named "_ops.py" and "_classes.py": no path, no import)
missing = sorted(m.__name__ for m in list(sys.modules.values())
                 if (getattr(m, "__file__", None) or "").endswith(".py") and os.path.isabs(m.__file__)
                 and m.__name__.split(".")[0] in ("torch", "diffusers", "transformers")
                 and not os.path.exists(importlib.util.cache_from_source(m.__file__)))
print(len([m for m in sys.modules if m.split(".")[0] in ("torch", "diffusers", "transformers")]), len(missing),
      " ".join(missing[:5]))
"""


def assert_imports_have_bytecode(last_line: str) -> None:
    """UNCOMPILED's answer: the runner's packages imported, and every module of theirs had its bytecode
    (the images and venvs compile it at install: a runner cannot write it on a read-only root, nor
    where PYTHONDONTWRITEBYTECODE is set, as on this project's machines)."""
    imported, missing, examples = (last_line.split(" ", 2) + [""])[:3]
    assert int(imported) > 500, last_line  # torch, diffusers and transformers really imported
    assert int(missing) == 0, f"{missing} of {imported} modules without bytecode, e.g. {examples}"
