"""Inputs nobody thought of (hypothesis, a fixed example budget, derandomized: the same examples on
every run): every version string, config file and command line gives a parsed value or one
BadInput line (exit 2 at the command line) - never a traceback."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vercompare.errors import BadInput
from vercompare.planning import config_file, request, versions
from vercompare.planning.plan import plan_variants
from vercompare_runner.vocabulary import PIPELINES

BUDGET = settings(max_examples=300, derandomize=True, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])

# Text that looks like what people type: versions, dates, suffixes, paths, junk.
VERSIONISH = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A(nightly|stable|latest|test|main|git:|[0-9]{1,3})([.@+:/-][0-9a-z]{0,12}){0,4}\Z"),
    st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(-5, 300), st.integers(-5, 300), st.integers(-5, 300)),
    st.builds(lambda y, m, d: f"nightly@{y}-{m:02d}-{d:02d}", st.integers(0, 9999), st.integers(0, 99),
              st.integers(0, 99)),
)


def _parsed_or_bad(fn, *args):
    try:
        return fn(*args)
    except BadInput as exc:
        assert exc.one_line() and "\n" not in exc.one_line()
        return None


@BUDGET
@given(VERSIONISH)
def test_every_torch_string_is_a_spec_or_one_line(text):
    _parsed_or_bad(versions.parse_torch, text)


@BUDGET
@given(VERSIONISH, st.sampled_from(["diffusers", "transformers", "huggingface_hub"]))
def test_every_package_string_is_a_spec_or_one_line(text, package):
    fn = versions.parse_diffusers if package == "diffusers" else (lambda t: versions.parse_package(package, t))
    _parsed_or_bad(fn, text)


@BUDGET
@given(torch=VERSIONISH, diffusers=VERSIONISH, python=VERSIONISH, cuda=st.text(max_size=8),
       batch=st.integers(-10, 5000), pipeline=st.one_of(st.sampled_from(PIPELINES), st.text(max_size=12)))
def test_every_matrix_plans_or_fails_in_one_line(torch, diffusers, python, cuda, batch, pipeline):
    def plan():
        req = request.RunRequest(torch=(torch,), diffusers=(diffusers,), python=python, cuda=cuda or "auto",
                                 batch_size=(batch,), pipeline=(pipeline,), device="cpu")
        request.cases(req)
        return plan_variants(request.variants(req), device=req.device)
    _parsed_or_bad(plan)


# -- config files ---------------------------------------------------------------------------

SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.booleans(), st.text(max_size=20), VERSIONISH)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))
KEYS = st.one_of(st.sampled_from(list(config_file.MATRIX_KEYS) + list(config_file.BUILD_KEYS) + list(config_file.RUN_KEYS)
                                 + list(config_file.GATE_KEYS) + list(config_file.VERSION_KEYS)),
                 st.text(alphabet="abcdefghij_-", min_size=1, max_size=10))
SECTIONS = st.one_of(st.sampled_from(config_file.SECTIONS), st.sampled_from(["variants.a", "variants.b", "matrx"]))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a TOML basic string is a JSON string


def _toml(doc: dict) -> str:
    out = []
    for section, table in doc.items():
        out.append(f"[{section}]")
        out += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(out) + "\n"


@BUDGET
@given(st.dictionaries(SECTIONS, st.dictionaries(KEYS, VALUES, max_size=5), max_size=4))
def test_every_config_file_is_a_matrix_or_one_line(doc):
    def load():
        parsed = config_file.parse(_toml(doc), source="v.toml")
        config_file.check(parsed)
        return parsed
    _parsed_or_bad(load)


@BUDGET
@given(st.text(max_size=200))
def test_any_text_as_a_config_file_is_one_line_at_worst(text):
    _parsed_or_bad(config_file.parse, text, "v.toml")


# -- the command line, in process -----------------------------------------------------------

def _cli(argv: list[str]) -> tuple[int, str]:
    from vercompare.app import main

    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue()


@settings(max_examples=60, derandomize=True, deadline=None)
@given(torch=VERSIONISH, diffusers=VERSIONISH, batch=st.text(max_size=6), compile=st.text(max_size=12))
def test_plan_answers_any_values_with_a_plan_or_one_error_line(torch, diffusers, batch, compile, monkeypatch_env):
    code, err = _cli(["plan", "--torch", torch, "--diffusers", diffusers, "--batch-size", batch or "1",
                      "--compile", compile or "off", "--device", "cpu", "--json"])
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err


@pytest.fixture(scope="module")
def monkeypatch_env():
    """No engine: plan must not wait for one."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DOCKER_HOST", "unix:///nonexistent")
    yield
    mp.undo()
