"""The results reader against every kind of damage (hypothesis, a fixed example budget): it never
raises, never loses a valid line next to a corrupt one, and says which lines it could not read."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vercompare_runner import schema
from vercompare_runner.vocabulary import PIPELINES, STATUSES

BUDGET = settings(max_examples=300, derandomize=True, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

RECORDS = st.builds(
    lambda pipeline, status, batch, it: schema.make_result(
        "run", {"name": "v", "spec": {}}, schema.make_case(pipeline=pipeline, batch_size=batch), status,
        metrics={"it_per_s": it}),
    st.sampled_from(PIPELINES), st.sampled_from(STATUSES), st.integers(1, 64),
    st.floats(min_value=0.001, max_value=1e4, allow_nan=False))

DAMAGE = st.one_of(
    st.text(max_size=80).filter(lambda t: "\n" not in t and "\r" not in t and t.strip()),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")).filter(lambda t: "\n" not in t and "\r" not in t and t.strip()),
    RECORDS.map(lambda r: schema.dump_line(r)[: max(1, len(schema.dump_line(r)) // 2)]),  # truncated
    RECORDS.map(lambda r: json.dumps({**r, "kind": "something.else"})),  # foreign
    RECORDS.map(lambda r: json.dumps({**r, "status": "exploded"})),  # unknown status
    RECORDS.map(lambda r: json.dumps({**r, "schema": 99})),  # a future schema
    st.just("[1, 2, 3]"), st.just("null"),
)


@BUDGET
@given(st.lists(st.one_of(RECORDS.map(lambda r: ("ok", r)), DAMAGE.map(lambda d: ("bad", d))), max_size=25))
def test_valid_lines_survive_whatever_stands_beside_them(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("reader") / "results.jsonl"
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for kind, item in lines:
            fh.write(schema.dump_line(item) if kind == "ok" else item.rstrip("\n") + "\n")
    records, problems = schema.read_records(str(path))
    expected = [json.loads(schema.dump_line(item)) for kind, item in lines if kind == "ok"]
    assert records == expected
    assert [n for n, _ in problems] == [i for i, (kind, _) in enumerate(lines, 1) if kind == "bad"]


def _outcome(parse, line):
    try:
        return "value", parse(line)
    except ValueError as exc:
        return "error", str(exc)


@BUDGET
@given(st.one_of(RECORDS.map(schema.dump_line), DAMAGE), st.sampled_from(["", "\n", " \n", "\r\n", "x", " {}"]),
       st.sampled_from(["", " ", "\ufeff"]))
def test_a_line_reads_as_json_loads_reads_it(line, tail, head):
    """schema._loads calls json's scanner directly: each line, whole or damaged, with anything before or
    after it, gives json.loads's value or its error message."""
    line = head + line.rstrip("\n") + tail
    assert _outcome(schema._loads, line) == _outcome(json.loads, line)
