"""The gate's thresholds: how much worse a cell may get before the verdict is FAIL, one per kind of
change. Each field is an option (`--fail-on-regression 5%`) and a key of the config file's [gate]
section. With none given there is no gate: the verdict is still computed and shown, the exit code
does not follow it."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, fields

from vercompare.errors import BadInput
from vercompare.planning.fields import option

GATE = "gate"


@dataclass(frozen=True)
class Thresholds:
    fail_on_regression: str | None = option(None, GATE, "e.g. 5%: FAIL when a cell's it/s is lower than its baseline's by more than this, significantly (one-sided test, Holm-corrected over the matrix).")
    fail_on_memory: str | None = option(None, GATE, "e.g. 10%: FAIL when a cell's peak memory (GPU, or CPU resident set) grows by more than this, significantly.")
    fail_on_compile_time: str | None = option(None, GATE, "e.g. 15%: FAIL when a compiled cell's compile time grows by more than this, significantly.")
    fail_on_first_call: str | None = option(None, GATE, "e.g. 20%: FAIL when a cell's first call (load to first image) grows by more than this, significantly.")
    fail_on_psnr: float | None = option(None, GATE, "e.g. 40: FAIL when a cell's output differs from its baseline's below this PSNR (dB): output drift.")
    strict: bool = option(False, GATE, "Kept for old command lines: under any gate INCONCLUSIVE exits 3 (not a pass).")

    @property
    def active(self) -> bool:
        """A gate was asked for: the exit code follows the verdict."""
        return any(getattr(self, f.name) not in (None, False) for f in fields(self))

    def fraction(self, name: str) -> float | None:
        """A percentage threshold as a fraction (0.05 for "5%")."""
        return parse_threshold(getattr(self, name), f"--{name.replace('_', '-')}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Thresholds))


def from_options(values: dict) -> Thresholds:
    given = {k: values[k] for k in field_names() if values.get(k) not in (None, False)}
    thresholds = Thresholds(**given)
    validate(thresholds)
    return thresholds


def validate(thresholds: Thresholds) -> None:
    for name in ("fail_on_regression", "fail_on_memory", "fail_on_compile_time", "fail_on_first_call"):
        thresholds.fraction(name)
    floor = thresholds.fail_on_psnr
    if floor is not None and not 0 < float(floor) < 200:
        raise BadInput(f"--fail-on-psnr {floor}: expected a PSNR in dB, e.g. 40")


def parse_threshold(text: str | float | None, option_name: str = "--fail-on-regression") -> float | None:
    """A fraction: the strings "5%" or "5" -> 0.05 (percent); a number is already a
    fraction (0.05 -> 0.05); None -> None. BadInput for anything else."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text) * 100.0
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*%?\s*", str(text))
        if not m:
            raise BadInput(f"{option_name} {text!r} is not a percentage",
                           hint="write it like 5% (worse by 5 percent)")
        value = float(m.group(1))
    if not 0 < value < 100:
        raise BadInput(f"{option_name} {text!r} must be between 0 % and 100 %", hint="write it like 5%")
    return value / 100.0
