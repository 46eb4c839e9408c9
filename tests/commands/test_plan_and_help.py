"""`plan` takes exactly `run`'s options (so it shows what `run` would run), and --help shows them
in their groups."""
from __future__ import annotations

import json

from cli import NO_ENGINE, vercompare


def test_plan_takes_every_run_option_and_shows_the_cases_run_would_run(tmp_path):
    proc = vercompare("plan", "--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--device", "cpu", "--dtype", "bf16",
                      "--steps", "3", "--height", "32", "--width", "32", "--seed", "7", "--compile", "both",
                      "--attention", "both", "--channels-last", "--repeats", "2", "--gpus", "none", "--cpu-threads", "1",
                      "--case-timeout", "30", "--out", tmp_path / "out", "--json", env=NO_ENGINE, inherit=False)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert len(plan["cases"]) == 4  # compile both x attention both
    for case in plan["cases"]:
        assert "/bf16/" in case and "steps=3/height=32/width=32/seed=7/cpu/tiny" in case and "channels_last" in case
    assert not (tmp_path / "out").exists()  # plan writes nothing


def test_run_help_groups_the_options():
    proc = vercompare("run", "--help", env={**NO_ENGINE, "TERM": "dumb"}, inherit=False, columns=100)
    assert proc.returncode == 0, proc.stderr
    panels = [line.strip("╭─ ").split(" ─")[0] for line in proc.stdout.splitlines() if line.startswith("╭─")]
    assert panels == ["Options", "Versions (what is installed)", "Matrix (what is measured)",
                      "Build (how environments are made)", "Run", "Gate (when to fail)", "Report"], panels
    assert "--inject-fault" not in proc.stdout  # test-only, hidden


def test_plan_in_a_pipe_keeps_every_requirement_whole():
    proc = vercompare("plan", "--torch", "2.0.1", "--diffusers", "0.17.1", "--diffusers", "0.30.3", env=NO_ENGINE,
                      inherit=False, columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for requirement in ("huggingface_hub<0.26", "transformers<4.49", "numpy<2", "transformers<4.52"):
        assert any(requirement in line for line in lines), (requirement, proc.stdout)
