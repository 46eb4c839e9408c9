"""Every user-facing input with bad values: one line naming the input and the fix, exit
code 2, and nothing built, run or written. The engine address points nowhere, so a test
also proves the input is checked before any engine is asked anything."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import NO_ENGINE, vercompare

BASE = ["run", "--torch", "2.13.0+cpu", "--diffusers", "0.42.1", "--device", "cpu", "--weights", "tiny"]


def fixtures(tmp: Path) -> dict:
    (tmp / "not-pem.crt").write_text("this is not a certificate\n")
    (tmp / "empty-wheelhouse").mkdir()
    (tmp / "a-file").write_text("x")
    foreign = tmp / "foreign-run"
    foreign.mkdir()
    (foreign / "run.json").write_text(json.dumps({"kind": "something-else"}))
    (tmp / "busy-dir").mkdir()
    (tmp / "busy-dir" / "notes.txt").write_text("mine")
    return {"tmp": tmp}


CASES = [
    (["--torch", "9.9"], "--torch 9.9"),
    (["--torch", "2.0.7"], "--torch 2.0.7"),
    (["--diffusers", "banana"], "--diffusers banana"),
    (["--diffusers", "0.12.0"], "supports diffusers >= 0.17"),
    (["--python", "3.12", "--torch", "2.0"], "not 3.12"),
    (["--python", "three"], "--python three"),
    (["--pipeline", "sd-banana"], "--pipeline sd-banana"),
    (["--batch-size", "0"], "--batch-size 0"),
    (["--batch-size", "-4"], "--batch-size -4"),
    (["--batch-size", "100000"], "--batch-size 100000"),
    (["--height", "500"], "--height 500"),
    (["--width", "0"], "--width 0"),
    (["--dtype", "fp8"], "--dtype fp8"),
    (["--compile", "turbo"], "--compile turbo"),
    (["--torch", "2.0", "--compile", "reduce-overhead"], "no Python fits torch 2.0.1 and diffusers 0.42.1 with torch.compile"),
    (["--attention", "flash"], "--attention flash"),
    (["--repeats", "0"], "--repeats 0"),
    (["--backend", "kubernetes"], "--backend kubernetes"),
    (["--gpus", "first"], "--gpus first"),
    (["--variant", "torch2.0"], "--variant torch2.0"),
    (["--case-timeout", "-1"], "--case-timeout"),
    (["--budget", "0"], "--budget"),
    (["--fail-on-regression", "lots"], "lots"),
    (["--ca-bundle", "{tmp}/not-pem.crt"], "not a PEM certificate bundle"),
    (["--ca-bundle", "{tmp}/missing.crt"], "cannot be read"),
    (["--wheelhouse", "{tmp}/empty-wheelhouse"], "holds no .whl files"),
    (["--wheelhouse", "{tmp}/a-file"], "not a directory"),
    (["--wheelhouse", "{tmp}/missing"], "not a directory"),
    (["--hf-cache", "{tmp}/missing"], "--hf-cache"),
    (["--resume", "{tmp}/foreign-run"], "not written by vercompare"),
    (["--resume", "{tmp}/missing"], "not a vercompare run directory"),
    (["--out", "{tmp}/busy-dir"], "not a vercompare run directory"),
    (["--registry", "bob:s3cret@127.0.0.1:5000"], "--registry ***@127.0.0.1:5000: credentials do not go"),
    (["--registry", "https://127.0.0.1:5000"], "--registry https://127.0.0.1:5000: expected HOST[:PORT][/PREFIX]"),
]


@pytest.mark.parametrize("args,fragment", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_value_is_one_line_exit_2_nothing_written(args, fragment, tmp_path):
    fixtures(tmp_path)
    args = [a.format(tmp=tmp_path) for a in args]
    out = tmp_path / "out"
    if "--out" not in args and "--resume" not in args:
        args += ["--out", str(out)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = vercompare(*BASE, *args, inherit=False, timeout=60,
                      env={"PATH": "/usr/bin:/bin", "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
                           "HOME": str(tmp_path / "home")})
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0], lines[0]
    assert "no Docker engine" not in lines[0]  # the input was checked first
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written anywhere


@pytest.mark.parametrize("argv", [
    ["plan", "--torch", "9.9"], ["plan", "--diffusers", "banana"], ["plan", "--torch", "2.0", "--python", "3.12"],
    ["run", "--torch", "9.9"], ["run", "--pipeline", "nope"], ["run", "--batch-size", "0"],
])
def test_bad_specs_fail_with_one_line_on_run_and_plan(argv, tmp_path):
    proc = vercompare(*argv, *(["--out", str(tmp_path / "out")] if argv[0] == "run" else []), env=NO_ENGINE,
                      inherit=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert not (tmp_path / "out").exists()  # nothing written
