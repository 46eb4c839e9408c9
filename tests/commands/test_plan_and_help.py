"""`plan` takes exactly `run`'s options (so it shows what `run` would run), and --help shows them
in their groups."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import synthetic
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
    for requirement in ("huggingface_hub<0.26", "numpy<2", "transformers<4.50"):
        assert any(requirement in line for line in lines), (requirement, proc.stdout)


def test_plan_puts_torch_2_0_on_a_python_its_compiler_accepts():
    # torch 2.0's torch.compile stops at Python 3.10: the compiled columns of 2.0 and nightly share it (and
    # the resolver picks the newest diffusers that installs there)
    proc = vercompare("plan", "--torch", "2.0", "--torch", "nightly", "--compile", "both", "--json", env=NO_ENGINE,
                      inherit=False)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [v["python"] for v in plan["variants"]] == ["3.10", "3.10"], plan["variants"]
    refused = vercompare("plan", "--torch", "2.0", "--diffusers", "0.42.1", "--compile", "reduce-overhead",
                         env=NO_ENGINE, inherit=False)
    assert refused.returncode == 2 and "with torch.compile" in refused.stderr, refused.stderr


GOLDEN = Path(__file__).parent / "golden"


def test_run_help_at_80_columns_is_pinned(tmp_path):
    """`vercompare run --help` in an 80-column terminal: the option groups in order, every line within
    80 columns, the examples whole. Regenerate after an intended change:
    UPDATE_GOLDEN=1 pytest tests/commands/test_plan_and_help.py"""
    proc = vercompare("run", "--help", env={**NO_ENGINE, "TERM": "dumb", "NO_COLOR": "1"}, inherit=False, columns=80)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    path = GOLDEN / "run_help_80.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        assert os.environ.get("CI", "").lower() != "true", "UPDATE_GOLDEN is refused under CI=true"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert all(len(line) <= 80 for line in text.splitlines())
    panels = [line.strip("╭─ ").split(" ─")[0] for line in text.splitlines() if line.startswith("╭─")]
    assert panels == ["Options", "Versions (what is installed)", "Matrix (what is measured)",
                      "Build (how environments are made)", "Run", "Gate (when to fail)", "Report"], panels
    assert "--wheelhouse ./wheels" in text and "--format md" in text
    assert text == path.read_text(encoding="utf-8")


def test_help_has_no_python_type_names_and_no_cut_line():
    """Every command's --help at 80 columns: types as plain words (TEXT, INTEGER), none for a
    flag; no help line cut with an ellipsis."""
    for args in (("--help",), ("run", "--help"), ("report", "--help"), ("images", "ls", "--help"),
                 ("history", "--help"), ("doctor", "--help"), ("diff", "--help")):
        proc = vercompare(*args, env={**NO_ENGINE, "TERM": "dumb", "NO_COLOR": "1"}, inherit=False, columns=80)
        assert proc.returncode == 0, (args, proc.stderr)
        text = proc.stdout
        assert not re.search(r"<(bool|str|int|float|path|list\[\w+\])>", text), (args, text)
        assert "…" not in text and all(len(line) <= 80 for line in text.splitlines()), (args, text)


def test_completion_is_enabled():
    proc = vercompare("--help", env={**NO_ENGINE, "TERM": "dumb"}, inherit=False, columns=100)
    assert "--install-completion" in proc.stdout and "--show-completion" in proc.stdout
    script = vercompare("--show-completion", "bash", env={**NO_ENGINE, "SHELL": "/bin/bash"}, inherit=False)
    assert script.returncode == 0 and "_vercompare_completion" in script.stdout
    for words, cword, expected in (("vercompare ru", "1", "run"), ("vercompare run --to", "2", "--torch"),
                                   ("vercompare history --de", "2", "--detect")):
        done = vercompare(env={**NO_ENGINE, "_VERCOMPARE_COMPLETE": "complete_bash", "COMP_WORDS": words,
                               "COMP_CWORD": cword}, inherit=False)
        assert done.returncode == 0 and expected in done.stdout.split(), (words, done.stdout, done.stderr)


COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def test_no_color_is_honoured(tmp_path):
    run = synthetic.page_run(tmp_path / "page")
    forced = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    coloured = vercompare("report", run, env=forced)
    assert coloured.returncode == 0 and COLOUR.search(coloured.stdout)  # the test can fail: colour is there
    for args in (("report", run), ("run", "--help"), ("plan", "--torch", "2.0"), ("--help",)):
        plain = vercompare(*args, env={**forced, "NO_COLOR": "1", **NO_ENGINE})
        assert plain.returncode == 0, plain.stderr
        assert not COLOUR.search(plain.stdout + plain.stderr), args


def test_vercompare_toml_in_the_current_folder_is_read(tmp_path):
    (tmp_path / "vercompare.toml").write_text('[versions]\ntorch = ["2.0.1", "nightly"]\n[matrix]\nbatch_size = [1, 4]\n')
    proc = vercompare("plan", "--json", env=NO_ENGINE, inherit=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)  # stdout stays the JSON; the notice is on stderr
    assert [v["spec"]["torch"] for v in plan["variants"]] == ["2.0.1", "nightly"]
    assert len(plan["cases"]) == 2 and "using ./vercompare.toml" in proc.stderr
    # typed options win over it; --config names another; none in the folder: the defaults
    typed = json.loads(vercompare("plan", "--json", "--batch-size", "2", env=NO_ENGINE, inherit=False,
                                  cwd=tmp_path).stdout)
    assert len(typed["cases"]) == 1 and "/b2/" in typed["cases"][0]
    (tmp_path / "other.toml").write_text('[versions]\ntorch = "2.0.1"\n')
    other = json.loads(vercompare("plan", "--json", "--config", tmp_path / "other.toml", env=NO_ENGINE,
                                  inherit=False, cwd=tmp_path).stdout)
    assert len(other["variants"]) == 1
    bare = vercompare("plan", "--json", env=NO_ENGINE, inherit=False, cwd=tmp_path / "..")
    assert "using ./vercompare.toml" not in bare.stderr
    (tmp_path / "vercompare.toml").write_text("[matrix]\nbatch_sizes = 'many'\n")
    bad = vercompare("plan", env=NO_ENGINE, inherit=False, cwd=tmp_path)
    assert bad.returncode == 2 and "vercompare.toml" in bad.stderr


def test_run_format_and_json_are_checked_before_anything_runs(tmp_path):
    for args, words in ((("--format", "png"), "not a format `run` prints"), (("--format", "pdf"), "--format 'pdf'"),
                        (("--json", "--format", "md"), "--json and --format")):
        proc = vercompare("run", "--torch", "2.0", "--out", tmp_path / "out", *args, env=NO_ENGINE, inherit=False)
        assert proc.returncode == 2 and words in proc.stderr, (args, proc.stderr)
        assert not (tmp_path / "out").exists()


# -- packages resolved together at plan time (execution/resolution.py) ---------------------------
# A fixed moment after transformers 5.25.0 (2026-12-01T18:03Z), the release that needs huggingface_hub
# >= 2.4 while diffusers 0.36.0 needs < 2: what the index said then, whatever it says today.
AFTER_5_25 = "2026-12-06T00:00:00Z"


def test_pins_that_cannot_go_together_are_refused_before_anything_is_built(tmp_path):
    proc = vercompare("plan", "--torch", "2.13.0", "--diffusers", "0.36.0", "--transformers", "5.25.0",
                      "--packages-as-of", AFTER_5_25, "--device", "cpu", env=NO_ENGINE, inherit=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, proc.stderr
    assert "huggingface_hub>=2.4.0" in error[0] and "huggingface_hub>=0.34.0,<2.0" in error[0], error
    assert "transformers" in error[0] and "diffusers==0.36.0" in error[0]
    # `run` refuses it the same way, before a run directory, an engine or a build
    run = vercompare("run", "--torch", "2.13.0", "--diffusers", "0.36.0", "--transformers", "5.25.0",
                     "--packages-as-of", AFTER_5_25, "--device", "cpu", "--out", str(tmp_path / "out"),
                     env=NO_ENGINE, inherit=False)
    assert run.returncode == 2 and "huggingface_hub" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_plan_shows_the_transformers_and_huggingface_hub_it_resolved():
    proc = vercompare("plan", "--torch", "2.13.0", "--diffusers", "0.36.0", "--packages-as-of", AFTER_5_25,
                      "--device", "cpu", env=NO_ENGINE, inherit=False, columns=200)
    assert proc.returncode == 0, proc.stderr
    resolved = next(line for line in proc.stdout.splitlines() if line.strip().startswith("resolved "))
    # the newest transformers that goes with diffusers 0.36.0's huggingface_hub < 2 (not 5.25.0)
    assert "transformers==5.24.0" in resolved and re.search(r"huggingface-hub==1\.\d+", resolved), resolved
    assert f"as of {AFTER_5_25}" in resolved
    as_json = vercompare("plan", "--torch", "2.13.0", "--diffusers", "0.36.0", "--packages-as-of", AFTER_5_25,
                         "--device", "cpu", "--json", env=NO_ENGINE, inherit=False)
    row = json.loads(as_json.stdout)["variants"][0]
    assert "transformers==5.24.0" in row["deps"] and row["diffusers"] == "diffusers==0.36.0"


def test_latest_diffusers_is_the_newest_release_the_python_admits():
    """diffusers 0.42 declares Requires-Python >= 3.11: on 3.10 "latest" is an older release, and the
    plan says which."""
    proc = vercompare("plan", "--torch", "2.13.0", "--diffusers", "latest", "--python", "3.10", "--device", "cpu",
                      "--json", env=NO_ENGINE, inherit=False)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["variants"][0]
    version = row["diffusers"].removeprefix("diffusers==")
    assert row["python"] == "3.10" and tuple(int(p) for p in version.split(".")) < (0, 42), row["diffusers"]
    eleven = json.loads(vercompare("plan", "--torch", "2.13.0", "--diffusers", "latest", "--device", "cpu", "--json",
                                   env=NO_ENGINE, inherit=False).stdout)["variants"][0]
    assert eleven["python"] == "3.11" and eleven["diffusers"] == "diffusers==0.42.1"


def test_a_constraints_file_that_is_not_there_is_one_line(tmp_path):
    proc = vercompare("plan", "--torch", "2.13.0", "--device", "cpu", "--constraint", str(tmp_path / "none.txt"),
                      env=NO_ENGINE, inherit=False)
    assert proc.returncode == 2 and "--constraint" in proc.stderr and "not a file" in proc.stderr, proc.stderr


def test_packages_as_of_must_be_a_date():
    proc = vercompare("plan", "--torch", "2.13.0", "--device", "cpu", "--packages-as-of", "yesterday",
                      env=NO_ENGINE, inherit=False)
    assert proc.returncode == 2 and "--packages-as-of yesterday" in proc.stderr, proc.stderr


def test_a_bounded_transformers_gets_its_newest_release_and_latest_diffusers_fits_it():
    """torch 2.0 bounds transformers below 4.50 (it needs torch >= 2.1 from there): the resolver keeps the
    newest below the bound and takes the newest diffusers that goes with it - not an ancient transformers
    that happens to declare no bound on huggingface_hub."""
    proc = vercompare("plan", "--torch", "2.0.1", "--diffusers", "latest", "--python", "3.10", "--device", "cpu",
                      "--json", env=NO_ENGINE, inherit=False)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["variants"][0]
    pinned = dict(p.split("==") for p in row["lock"]["packages"] if "==" in p)
    assert pinned["transformers"].startswith("4.49."), pinned
    assert int(pinned["huggingface-hub"].split(".")[0]) < 1 and int(pinned["numpy"].split(".")[0]) < 2, pinned
