"""The table model: grouping, provenance, output diffs, GPU peaks, history."""
import base64
import math

import pytest

from vercompare.errors import BadInput
from vercompare.report import Options, build, history
from vercompare.report import peaks as gpus
from vercompare.report.fingerprints import output_diff
from vercompare.rundir import load_run
from vercompare_runner import schema

import synthetic


def test_layout_is_the_pages(page_run):
    report = build(page_run)
    t = report.tables[0]
    assert [c.label for c in t.main_columns] == [
        "torch-2.0 - no compile", "torch-nightly - no compile", "torch-2.0 - compile", "torch-nightly - compile"]
    assert [r.label for r in t.rows] == ["SD - txt2img", "SD - img2img", "SD - inpaint", "SD - controlnet", "IF",
                                         "SDXL - txt2img"]
    assert t.rows[4].stages == ("stage I", "stage II", "stage III")
    assert [tb.batch_size for tb in report.tables] == [1, 16]


def test_achieved_tflops_and_peak_fraction(page_run):
    cell = build(page_run).tables[0].rows[0].cells[3]  # SD txt2img, nightly compile, ~49.7 it/s
    assert cell.tflops == pytest.approx(1606.5e9 * cell.figures[0].estimate.value / 1e12)
    assert 0.24 < cell.peak_fraction < 0.27  # the notes: about 26 % of the A100's 312


def test_gpu_peak_table():
    assert gpus.peak_tflops("NVIDIA A100-SXM4-80GB") == 312
    assert gpus.peak_tflops("NVIDIA H100 80GB HBM3") == 989
    assert gpus.peak_tflops("NVIDIA H200") == 989
    assert gpus.peak_tflops("Tesla V100-SXM2-16GB") == 125
    assert gpus.peak_tflops("Tesla T4") == 65
    assert gpus.peak_tflops("NVIDIA GeForce RTX 3090") == 71
    assert gpus.peak_tflops("NVIDIA GeForce RTX 4090") == 165
    assert gpus.peak_tflops("cpu") is None and gpus.peak_tflops(None) is None


def test_output_diff_max_abs_psnr_and_flag():
    a = synthetic.fingerprint(1)
    assert output_diff(a, dict(a), 40.0).psnr == math.inf
    data = bytearray(base64.b64decode(a["data"]))
    data[0] = (data[0] + 3) % 256
    b = {"shape": a["shape"], "data": base64.b64encode(bytes(data)).decode()}
    d = output_diff(b, a, 40.0)
    assert d.max_abs == 3 and d.psnr > 40 and not d.flagged
    assert output_diff(synthetic.fingerprint(1, noise=40), a, 40.0).flagged
    shape = output_diff(synthetic.fingerprint(1, shape=(4, 4, 3)), a, 40.0)
    assert shape.flagged and "shape" in shape.note
    assert output_diff(None, a, 40.0) is None


def test_flagged_outputs_are_listed(page_run):
    report = build(page_run)
    assert len(report.output_flags) == 1 and "SD - inpaint" in report.output_flags[0]
    assert build(page_run, Options(output_psnr_min=20)).output_flags == ()


def test_a_number_without_provenance_is_not_shown(tmp_path):
    v = {"name": "x", "spec": {}}  # no resolved versions anywhere
    case = schema.make_case(pipeline="sd-txt2img")
    rec = schema.make_result("r", v, case, "ok", metrics={"it_per_s": 5.0}, samples={"it_per_s": [5.0] * 5})
    run = load_run(synthetic.write_run(tmp_path / "r", [rec], variants=[v]))
    cell = build(run).tables[0].rows[0].cells[0]
    assert cell.state == "unproven" and cell.figures == ()
    assert "no provenance" in build(run).footnotes[0]


def test_other_knobs_split_tables(tmp_path):
    v = synthetic.VARIANTS[0]
    recs = []
    for att in ("sdpa", "vanilla"):
        case = schema.make_case(pipeline="sd-txt2img", attention=att)
        recs.append(schema.make_result("r", v, case, "ok", metrics={"it_per_s": 5.0},
                                       samples={"it_per_s": [5.0] * 5}))
    report = build(load_run(synthetic.write_run(tmp_path / "r", recs, variants=[v])))
    assert [t.title for t in report.tables] == ["cpu · batch 1 · sdpa", "cpu · batch 1 · vanilla"]


def test_unknown_baseline_and_extras_are_user_errors(page_run):
    with pytest.raises(BadInput):
        build(page_run, Options(baseline="nope"))
    with pytest.raises(BadInput):
        build(page_run, Options(extras=("bogus",)))


def test_last_record_of_a_case_wins(tmp_path):
    v = synthetic.VARIANTS[0]
    case = schema.make_case(pipeline="sd-txt2img")
    first = schema.make_result("r", v, case, "error", phase="load", error={"type": "X", "message": "m"})
    second = schema.make_result("r", v, case, "ok", metrics={"it_per_s": 5.0}, samples={"it_per_s": [5.0] * 5})
    report = build(load_run(synthetic.write_run(tmp_path / "r", [first, second], variants=[v])))
    assert report.tables[0].rows[0].cells[0].state == "ok"


def test_history_index_run_and_query(tmp_path, page_run, monkeypatch):
    db = tmp_path / "h.db"
    n = history.index_run(page_run, db)
    assert n > 30
    assert history.index_run(page_run, db) == n  # re-indexing replaces
    series = history.query(db, "if", variant="torch-2.0", batch_size=1, compile="off")
    assert [s.stage for s in series] == ["stage I", "stage II", "stage III"]
    assert len(series[0].points) == 1 and series[0].points[0].value > 19
    monkeypatch.setenv("VERCOMPARE_DB", str(tmp_path / "env.db"))
    assert history.default_db() == tmp_path / "env.db"
    monkeypatch.delenv("VERCOMPARE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history.default_db() == tmp_path / "xdg" / "vercompare" / "history.db"


def test_sparkline():
    assert history.sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert history.sparkline([2, None, 2]) == "▅·▅"


def test_output_diff_reads_the_runners_fingerprint():
    def fp(seed, sha, noise=0):
        plain = synthetic.fingerprint(seed, shape=(32, 32, 3), noise=noise)
        return {"shape": [1, 64, 64, 3], "size": 32, "rgb_b64": plain["data"], "sha256": sha}
    assert output_diff(fp(1, "aa"), fp(1, "aa"), 40.0).psnr == math.inf
    same8 = output_diff(fp(1, "aa"), fp(1, "bb"), 40.0)
    assert same8.max_abs == 0 and not same8.flagged and same8.note == "same at 8 bits"
    differ = output_diff(fp(1, "aa", noise=50), fp(1, "bb"), 40.0)
    assert differ.flagged and differ.max_abs > 10
    other = dict(fp(1, "cc"), shape=[1, 32, 32, 3])
    assert output_diff(other, fp(1, "aa"), 40.0).flagged


DETAILS = ("compile_s", "first_call_s", "peak_mem_bytes", "tflops", "peak_fraction", "step_ms", "compile_cost",
           "page_it_per_s", "gpu_text", "latency_s")


def test_a_cells_details_computed_when_read_are_those_computed_at_once(page_dir):
    """The details only some formats show (report/cell_details.py) are computed when a format reads
    them: the table leaves them unread; read late, each is the value the cell would have held built
    with it - the same cell to ==, repr and dataclasses.asdict."""
    import dataclasses

    from vercompare.report import formats
    from vercompare.report.cell_details import CellDetails, median_or_none, step_summary
    from vercompare.report.model import Cell
    from vercompare.report.records import measured_cells
    from vercompare_runner.vocabulary import COMPILE_S

    report = build(load_run(page_dir))
    formats.render(report, "table")
    cells = [c for t in report.tables for r in t.rows for c in r.cells if c.state == "ok"]
    assert cells and not any(name in vars(c) for c in cells for name in DETAILS)  # none computed yet
    for c in cells:
        eager = Cell(c.state, c.text, c.figures, c.footnote, **{name: getattr(c, name) for name in DETAILS},
                     output=c.output, rounds=c.rounds, throttled=c.throttled)
        assert c == eager and repr(c) == repr(eager) and dataclasses.asdict(c) == dataclasses.asdict(eager)
    assert any(c.step_ms for c in cells) and any(c.compile_cost for c in cells) and any(c.tflops for c in cells)
    # each detail is its function of the cell's records
    m = next(m for m in measured_cells(load_run(page_dir).records).values()
             if m.status == "ok" and m.case.get("compile") != "off")
    details = CellDetails(m, None, 10.0)
    assert details.compile_s == median_or_none(m.rounds_of(COMPILE_S)) and details.step_ms == step_summary(m)
    lazy = Cell.of(details, "ok", None, (), None)
    assert lazy.compile_s == details.compile_s and lazy.compile_cost == details.compile_cost
    assert Cell("missing", "-").compile_s is None and Cell("ok", compile_s=2.0).compile_s == 2.0
