"""`vercompare bisect`'s side effects: the candidates listed (the nightly index, a repository's
first-parent commits), each probe measured as a run of its own, the state kept on disk. What to
measure next and what the probes say is planning/bisection.py's (pure).

A probe is an ordinary run (execution/steps.py, every step: environments built or reused from the
cache, sequential rounds under a gate) of two variants, GOOD and the candidate, with the gate at
--threshold on it/s: the verdict's FAIL is bad, PASS good, INCONCLUSIVE after --max-rounds
undecided, a failed build of the candidate skipped. The endpoints' probe (BAD against GOOD) comes
first: not bad, nothing is searched.

    BISECT_DIR/bisect.json          what was asked, the candidates, every finished probe
    BISECT_DIR/probes/<label>/      each probe's run directory (a --resume finishes the one that
                                    was stopped, without measuring its finished cells again)
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vercompare import rundir
from vercompare.errors import BadInput, RunDirError
from vercompare.execution import lookups, sources, steps
from vercompare.images.secrets import redact
from vercompare.planning import bisection, catalog, versions
from vercompare.planning import request as request_mod
from vercompare.planning.bisection import Candidate, Probe
from vercompare.planning.plan import listings_for
from vercompare.planning.request import RunRequest
from vercompare.planning.settings import Settings
from vercompare.planning.thresholds import Thresholds, parse_threshold

STATE = "bisect.json"
KIND = "vercompare.bisect"
PACKAGES = ("torch", "diffusers")
COMPARE_URL = "https://github.com/pytorch/pytorch/compare/{}...{}"
# exit codes besides 0 (a first bad build named), 2 (bad input) and 128 + a signal
EXIT_FAILED, EXIT_NO_CHANGE = 1, 3


@dataclass
class Bisect:
    """One bisect directory's state: bisect.json, read and written as the probes finish."""

    out: Path
    package: str
    threshold: str
    request: RunRequest
    settings: Settings
    candidates: tuple[Candidate, ...]
    probes: list[Probe] = field(default_factory=list)
    command: str = ""
    seconds: float = 0.0  # wall time of the invocations so far (listing, builds, measuring)

    def save(self) -> None:
        rundir.write_json_atomic(self.out / STATE, {
            "kind": KIND, "package": self.package, "threshold": self.threshold, "command": self.command,
            "request": self.request.to_dict(), "settings": self.settings.to_dict(), "seconds": round(self.seconds, 1),
            "candidates": [c.to_dict() for c in self.candidates], "probes": [p.to_dict() for p in self.probes]})

    @classmethod
    def load(cls, out: Path) -> "Bisect":
        try:
            data = json.loads((out / STATE).read_text())
            if data.get("kind") != KIND:
                raise ValueError(f"not a bisect ({data.get('kind')})")
            return cls(out, data["package"], data["threshold"], RunRequest.from_dict(data["request"]),
                       Settings.from_dict(data["settings"]), tuple(Candidate(**c) for c in data["candidates"]),
                       [Probe.from_dict(p) for p in data["probes"]], data.get("command", ""), data.get("seconds", 0.0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunDirError(f"{out}/{STATE} cannot be read ({exc})", hint="--resume takes a bisect directory") from None

    @property
    def gate(self) -> Thresholds:
        return Thresholds(fail_on_regression=self.threshold)


def candidates(package: str, good: str, bad: str, request: RunRequest, settings: Settings) -> tuple[Candidate, ...]:
    """What the search may measure, oldest first, GOOD first and BAD last."""
    if package == "torch":
        return _nightlies(good, bad, request, settings)
    return _commits(good, bad)


def _nightlies(good: str, bad: str, request: RunRequest, settings: Settings) -> tuple[Candidate, ...]:
    specs = [versions.parse_torch(text) for text in (good, bad)]
    for text, spec in zip((good, bad), specs):
        if spec.kind != "nightly" or not spec.date:
            raise BadInput(f"bisect torch {text}: expected nightly@YYYY-MM-DD", hint="e.g. nightly@2026-11-20")
    if specs[0].date >= specs[1].date:
        raise BadInput(f"bisect torch {good} {bad}: GOOD must be the older nightly", hint="GOOD first, then BAD")
    variants = request_mod.variants(dataclasses.replace(request, torch=(good, bad), variant=()))
    torch_index = settings.torch_index or "pytorch"
    found, _ = lookups.catalog_for(variants, request.device, settings)
    flavour = listings_for(variants[0], request.device, torch_index)[0][1]
    for spec in specs:  # a date the index lacks: refused, naming the nearest dates it has
        catalog.resolve(spec, flavour, found, torch_index, request.device)
    listing = found.get(catalog.NIGHTLY, flavour)
    return tuple(Candidate(f"nightly-{day}", f"nightly@{day}", exact)
                 for day, exact in catalog.nightlies(listing, flavour, specs[0].date, specs[1].date))


def _commits(good: str, bad: str) -> tuple[Candidate, ...]:
    specs = [versions.parse_diffusers(text) for text in (good, bad)]
    if any(s.kind != "git" or not s.source for s in specs) or specs[0].source != specs[1].source:
        raise BadInput(f"bisect diffusers {good} {bad}: expected PATH@GOOD PATH@BAD of one local git repository",
                       hint="e.g. vercompare bisect diffusers ../diffusers@v0.30.0 ../diffusers@main")
    repo = specs[0].source
    return tuple(Candidate(f"commit-{commit[:12]}", f"{repo}@{commit}", commit, subject)
                 for commit, subject in sources.first_parent(repo, specs[0].value, specs[1].value))


def start(package: str, good: str, bad: str, request: RunRequest, settings: Settings, threshold: str,
          out: Path, argv: list[str]) -> Bisect:
    """A new bisect directory, its candidates listed; bad input leaves nothing behind."""
    if package not in PACKAGES:
        raise BadInput(f"bisect {package}: expected torch or diffusers", hint="vercompare bisect torch|diffusers GOOD BAD")
    if getattr(request, package) != getattr(RunRequest(), package) or request.variant:
        raise BadInput(f"bisect {package}: --{package} and --variant are what the bisect chooses",
                       hint=f"drop them; the other package's option stays (e.g. --{'diffusers' if package == 'torch' else 'torch'})")
    parse_threshold(threshold, "--threshold")
    if (out / STATE).exists():
        raise RunDirError(f"{out} already holds a bisect", hint=f"continue it with --resume {out}, or pick another --out")
    found = candidates(package, good, bad, request, settings)
    if len(found) < 2:
        raise BadInput(f"bisect {package} {good} {bad}: fewer than two builds to compare")
    state = Bisect(out, package, threshold, request, settings, found,
                   command=redact(" ".join(["vercompare"] + list(argv[1:]))))
    out.mkdir(parents=True, exist_ok=True)
    state.save()
    return state


def run(state: Bisect, console) -> int:
    """Confirm the endpoints, then probe until the range is one step (or all that is left in it was
    skipped or undecided). The exit code: 0 a first bad build named, 3 the endpoints not shown to
    differ (nothing named), 1 GOOD or BAD could not be measured, 128 + the signal when stopped."""
    began = time.monotonic()
    try:
        with rundir.lock(state.out):
            return _search(state, console)
    finally:
        state.seconds += time.monotonic() - began
        state.save()


def _search(state: Bisect, console) -> int:
    count = len(state.candidates)
    good, bad = state.candidates[0], state.candidates[-1]
    console.print(f"bisect {state.package}: {count} builds from {good.label} to {bad.label}; at most "
                  f"{bisection.most_probes(count)} probe(s) after the endpoints", highlight=False)
    if not _finished(state, count - 1):
        code = _probe(state, count - 1, console)
        if code is not None:
            return code
    end = _finished(state, count - 1)
    if end.outcome == bisection.SKIP:
        console.print(f"[red]{bad.label} could not be built or measured:[/] nothing to bisect", highlight=False)
        return EXIT_FAILED
    if not bisection.confirmed(end):
        console.print(f"the endpoints do not differ past {state.threshold}: {bad.label} against {good.label} is "
                      f"{_ratio_text(end)} ({end.outcome}); nothing to name", highlight=False)
        return EXIT_NO_CHANGE
    while (index := bisection.next_probe(count, state.probes)) is not None:
        code = _probe(state, index, console)
        if code is not None:
            return code
    return 0


def _finished(state: Bisect, index: int) -> Probe | None:
    return next((p for p in reversed(state.probes) if p.index == index), None)


def _probe(state: Bisect, index: int, console) -> int | None:
    """Measure one candidate against GOOD in a run of its own (continued when a stopped bisect left
    it half done); record its outcome. An exit code when the bisect must stop, else None."""
    from vercompare import api
    from vercompare.report import Options

    good, cand = state.candidates[0], state.candidates[index]
    out = state.out / "probes" / cand.label
    request = dataclasses.replace(state.request, variant=tuple(
        f"name={c.label},{state.package}={c.spec}" for c in (good, cand)))
    resume = (out / rundir.RUN_JSON).exists()
    console.print(f"probe {cand.label} ({cand.exact[:40]}) against {good.label}"
                  + (" (continued)" if resume else ""), highlight=False)
    started = time.monotonic()
    run = steps.Run(request, state.settings, out, resume=resume, argv=[sys.argv[0], "bisect", "probe", cand.label],
                    console=console, baseline=good.label, thresholds=state.gate, machine=True,
                    needs=(good.label, cand.label))
    code = steps.execute(run)  # the comparison on stderr (machine=True): stdout is the bisect's
    if code >= 128 or run.meta.get("stopped") or not (out / rundir.RUN_JSON).exists():
        # stopped by a signal (before its directory was opened, too), or early otherwise
        console.print(f"the bisect stopped in probe {cand.label}; continue with: vercompare bisect --resume {state.out}",
                      highlight=False, soft_wrap=True)
        return code if code >= 128 else EXIT_FAILED
    if good.label in run.failed_builds:
        console.print(f"[red]{good.label} (GOOD) could not be built or checked:[/] nothing to bisect", highlight=False)
        return EXIT_FAILED
    loaded = api.load(out, options=Options(baseline=good.label, thresholds=state.gate))
    failed = cand.label in run.failed_builds
    worst = _worst_ratio(loaded, cand.label)
    git = next((v.torch_git or "" for v in loaded.provenance.variants if v.name == cand.label), "")
    outcome = bisection.outcome_of(loaded.verdict.result, failed)
    note = ("its build failed: skipped" if failed else
            "undecided after the most rounds" if outcome == bisection.UNDECIDED else "")
    probe = Probe(index, outcome, *(worst or (None, None, None, 0)), seconds=round(time.monotonic() - started, 1),
                  run_dir=str(out), torch_git=git, note=note)
    state.probes.append(probe)
    state.save()
    console.print(f"probe {cand.label}: {outcome} ({_ratio_text(probe)}){'; ' + note if note else ''}",
                  highlight=False)
    return None


def _worst_ratio(loaded, label: str) -> tuple[float, float, float, int] | None:
    """The candidate's lowest it/s ratio to GOOD over its cells: (ratio, low, high, rounds)."""
    ratios = [f.ratio for c in loaded.cells if c.variant == label and not c.baseline for f in c.figures if f.ratio]
    if not ratios:
        return None
    r = min(ratios, key=lambda r: r.value)
    return round(r.value, 4), round(r.low, 4), round(r.high, 4), r.rounds


def _ratio_text(p: Probe) -> str:
    if p.ratio is None:
        return "nothing measured"
    return f"x{p.ratio:.3f} [{p.low:.3f}, {p.high:.3f}], {p.rounds} round(s)"


def outcome(state: Bisect) -> dict:
    """The answer as one object (what --json prints): first_bad, last_good, probes, range."""
    count = len(state.candidates)
    end = _finished(state, count - 1)
    probes = [{**p.to_dict(), "label": state.candidates[p.index].label, "exact": state.candidates[p.index].exact}
              for p in state.probes]
    base = {"kind": KIND, "package": state.package, "threshold": state.threshold, "bisect_dir": str(state.out),
            "candidates": count, "builds_measured": 1 + len({p.index for p in state.probes if p.outcome != bisection.SKIP}),
            "builds_skipped": len({p.index for p in state.probes if p.outcome == bisection.SKIP}),
            "seconds": round(state.seconds, 1), "probes": probes,
            "good": state.candidates[0].to_dict(), "bad": state.candidates[-1].to_dict()}
    if end is None or not bisection.confirmed(end) or bisection.next_probe(count, state.probes) is not None:
        return {**base, "confirmed": bool(end and bisection.confirmed(end)), "first_bad": None, "last_good": None,
                "unresolved": [], "range": None}
    found = bisection.answer(count, state.probes)
    named = {i: _named(state, i) for i in (found.last_good, found.first_bad)}
    return {**base, "confirmed": True, "first_bad": named[found.first_bad], "last_good": named[found.last_good],
            "exact": found.exact, "unresolved": [_named(state, i) for i in found.unresolved],
            "range": _range(state, named[found.last_good], named[found.first_bad])}


def _named(state: Bisect, index: int) -> dict:
    cand, probe = state.candidates[index], _finished(state, index)
    git = probe.torch_git if probe else ""
    if index == 0:  # GOOD: its hash is in any probe's run (the baseline variant)
        git = _good_git(state)
    outcome_ = probe.outcome if probe else (bisection.GOOD if index == 0 else None)
    return {**cand.to_dict(), "torch_git": git or None, "outcome": outcome_}


def _good_git(state: Bisect) -> str:
    from vercompare import api

    for p in state.probes:
        try:
            loaded = api.load(p.run_dir)
        except RunDirError:
            continue
        for v in loaded.provenance.variants:
            if v.name == state.candidates[0].label and v.torch_git:
                return v.torch_git
    return ""


def _range(state: Bisect, last_good: dict, first_bad: dict) -> dict:
    """What to read: PyTorch's compare page between the two builds' hashes, or the commits."""
    if state.package == "torch":
        a, b = last_good.get("torch_git"), first_bad.get("torch_git")
        url = COMPARE_URL.format(a, b) if a and b else None
        return {"url": url, "commits": [], **({} if url else {"note": "the builds report no torch git hash"})}
    repo = state.candidates[0].spec.rpartition("@")[0]
    listed = sources.commits(repo, last_good["exact"], first_bad["exact"])
    return {"url": None, "commits": [{"commit": c, "subject": s} for c, s in listed]}

