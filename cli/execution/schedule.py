"""The order of a run's work, decided from data alone (no threads, no clocks): which runner process
("unit") goes next, and how many builds may run at once. execution/scheduler.py carries it out.

A unit is one variant's cases of one compile mode in one round, in one fresh runner process. The
units run interleaved A B B A ... (every other round reversed), so a linear drift of the machine -
heat, clocks, other load - falls on both sides alike, not on whichever ran second. Sequential
sampling (planning/sampling.py) adds rounds to some units only: next_round keeps the same order.

Builds overlap measuring: a unit may start as soon as its own variant is ready, while the others
still build, as long as every unit of the earlier rounds (in its lane) has finished - so round 2 of
A never runs before round 1 of B, and the interleaving keeps its meaning. Within a round, ready
units go in schedule order; one that waits for its image lets the next ready one go first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# Builds at once, at most: each is a pip/uv process unpacking wheels and an engine writing layers;
# past four, a build host's disk, not its cores, sets the pace.
MAX_BUILD_JOBS = 4


@dataclass(frozen=True)
class Unit:
    round: int
    variant: str  # the plan's name
    mode: str  # the compile mode of the unit's cases
    lane: str = ""  # the machines it runs on: "" on one host (a fleet: the GPU type)

    @property
    def key(self) -> tuple:
        return self.round, self.variant, self.mode, self.lane


def units(variants: Iterable[str], modes: Iterable[str], rounds: int, lanes: Iterable[str] = ("",)) -> tuple[Unit, ...]:
    """Every unit in the order they run: compile modes outer, variants inner, every other round
    reversed (A B B A); each lane (GPU type) in that same order."""
    variants, modes, lanes = list(variants), list(dict.fromkeys(modes)), list(lanes)
    out: list[Unit] = []
    for lane in lanes:
        one = [(mode, v) for mode in modes for v in variants]
        for rnd in range(1, rounds + 1):
            out += [Unit(rnd, v, mode, lane) for mode, v in (one if rnd % 2 else one[::-1])]
    return tuple(out)


def next_round(variants: Iterable[str], modes: Iterable[str], wanted: set[tuple[str, str]], rnd: int,
               lanes: Iterable[str] = ("",)) -> tuple[Unit, ...]:
    """Sequential sampling's added round `rnd`: only the (variant, mode) units in `wanted`, in the
    order units() gives that round (A B B A goes on), each lane alike."""
    variants, modes = list(variants), list(dict.fromkeys(modes))
    one = [(mode, v) for mode in modes for v in variants if (v, mode) in wanted]
    return tuple(Unit(rnd, v, mode, lane) for lane in lanes for mode, v in (one if rnd % 2 else one[::-1]))


def next_unit(order: tuple[Unit, ...], ready: set[str], settled: set[str], done: set[Unit],
              started: set[Unit], lane: str = "") -> Unit | None:
    """The unit of `lane` to start now, or None (nothing can start yet, or nothing is left).

    ready: variants whose environment is prepared; settled: variants whose preparation ended either
    way (ready or failed: a failed variant's units never run, and nobody waits for them);
    done: units finished; started: units started (running or finished)."""
    lane_units = [u for u in order if u.lane == lane]
    for unit in lane_units:
        if unit in started or unit.variant not in ready:
            continue
        earlier = [u for u in lane_units if u.round < unit.round]
        # an earlier-round unit of a variant still building, or still running, holds this one back
        if all(u in done or (u.variant in settled and u.variant not in ready) for u in earlier):
            return unit
    return None


def remaining(order: tuple[Unit, ...], ready: set[str], settled: set[str], done: set[Unit]) -> list[Unit]:
    """Units that may still run: not done, of a variant that is ready or still being prepared."""
    return [u for u in order if u not in done and (u.variant in ready or u.variant not in settled)]


def build_jobs(builds: int, cores: int, asked: int | None = None) -> int:
    """How many environments to prepare at once: --build-jobs if given, else one per core (a build
    is mostly one busy process, unpacking or the engine writing a layer, and waits on the network
    the rest), at most MAX_BUILD_JOBS. Disk is no bound here: the host check has already made sure
    that every image to build fits at once."""
    if builds <= 0:
        return 1
    if asked:
        return max(1, min(asked, builds))
    return max(1, min(builds, cores, MAX_BUILD_JOBS))


def overlaps(device: str, asked: bool | None) -> bool:
    """Whether measuring starts while other variants still build: --overlap/--no-overlap, else on a
    GPU only. On a CPU the build's processes share the cores, caches and memory bandwidth that the
    measured work uses (benchmarks/build_times.py measures how much), so there builds go first."""
    return asked if asked is not None else device.startswith("cuda")
