"""The release gate at the command line's edge: the verdict's cells printed to stderr and the exit
code it gives (report/verdict.py decides; this module only tells). Exit codes: 0 PASS, 1 FAIL
(regression or breakage), 2 bad input (any command), 3 INCONCLUSIVE or NO COMPARISON: not a pass
(a cell not shown within its threshold, an interrupted run, a run of one variant)."""
from __future__ import annotations

from vercompare.report import text as T
from vercompare.report.verdict import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS

__all__ = ["EXIT_FAIL", "EXIT_INCONCLUSIVE", "EXIT_PASS", "print_verdict"]

_MARKUP = {"PASS": "[green]PASS[/]", "FAIL": "[bold red]FAIL[/]", "INCONCLUSIVE": "[yellow]INCONCLUSIVE[/]",
           "NO COMPARISON": "[yellow]NO COMPARISON[/]"}


def print_verdict(report, console) -> int:
    """With a gate: the verdict line and the cells behind it, on `console`; the exit code."""
    verdict = report.verdict
    if not verdict.gated:
        return EXIT_PASS
    line = verdict.line()
    console.print(_MARKUP[verdict.result] + line[len(verdict.result):], highlight=False, soft_wrap=True)
    for detail in T.verdict_details(report):
        console.print(f"  {detail}", highlight=False, soft_wrap=True)
    return verdict.exit_code()
