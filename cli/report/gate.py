"""The release gate: `--fail-on-regression 5%` exits 1 only when a regression is
significant, i.e. the whole confidence interval of the ratio to the baseline lies
below 1 - 5 %. Noise alone never fails the gate."""
from __future__ import annotations

import re

from vercompare.errors import BadInput

EXIT_REGRESSION = 1


def parse_threshold(text: str | float | None) -> float | None:
    """A fraction: the strings "5%" or "5" -> 0.05 (percent); a number is already a
    fraction (0.05 -> 0.05); None -> None. BadInput for anything else."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text) * 100.0
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*%?\s*", str(text))
        if not m:
            raise BadInput(f"--fail-on-regression {text!r} is not a percentage",
                           hint="write it like 5% (a slowdown of 5 percent)")
        value = float(m.group(1))
    if not 0 < value < 100:
        raise BadInput(f"--fail-on-regression {text!r} must be between 0 % and 100 %",
                       hint="write it like 5%")
    return value / 100.0


def failures(report) -> list[str]:
    """One line per significant regression past the report's threshold."""
    return [r.line() for r in report.regressions]


def exit_code(report) -> int:
    return EXIT_REGRESSION if report.options.fail_on_regression is not None and report.regressions else 0


def print_failures(report, console) -> int:
    """Print the cells that failed the gate (or that none did); return the exit code."""
    if report.options.fail_on_regression is None:
        return 0
    thr = report.options.fail_on_regression * 100
    if report.regressions:
        console.print(f"[bold red]FAIL[/]: {len(report.regressions)} significant regression(s) past {thr:g} %:",
                      highlight=False)
        for line in failures(report):
            console.print(f"  {line}", highlight=False, soft_wrap=True)
    else:
        console.print(f"[green]PASS[/]: no significant regression past {thr:g} %", highlight=False)
    return exit_code(report)


def check_run(loaded_run, threshold, console, baseline: str | None = None) -> int:
    """For `vercompare run --fail-on-regression`: 1 when a regression past `threshold`
    ("5%", or the fraction 0.05) is significant, else 0; prints the failing cells."""
    from vercompare.report import Options, build

    thr = parse_threshold(threshold)
    report = build(loaded_run, Options(baseline=baseline, fail_on_regression=thr))
    return print_failures(report, console)
