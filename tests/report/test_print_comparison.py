"""print_comparison: the table `vercompare run` prints at its end."""
import io

from rich.console import Console

from vercompare.report import print_comparison


def _printed(run, **kw):
    buf = io.StringIO()
    print_comparison(run, Console(file=buf, width=200, color_system=None), **kw)
    return buf.getvalue()


def test_prints_a_table_per_gpu_and_batch_with_ratios(page_run):
    out = _printed(page_run)
    assert "NVIDIA A100-SXM4-80GB · batch 1" in out
    assert "NVIDIA A100-SXM4-80GB · batch 16" in out
    for header in ("torch-2.0 - no compile", "torch-nightly - no compile", "torch-2.0 - compile",
                   "torch-nightly - compile"):
        assert header in out
    for row in ("SD - txt2img", "SD - img2img", "SD - inpaint", "SD - controlnet", "IF", "SDXL - txt2img"):
        assert row in out
    assert "baseline" in out and "x1.0" in out
    assert "image sha256:2222" in out  # provenance


def test_baseline_can_be_chosen(page_run):
    out = _printed(page_run, baseline="torch-nightly")
    assert "x0.9" in out  # 2.0 is slower than nightly


def test_failure_states_in_words(page_run):
    out = _printed(page_run)
    for state in ("OOM after warmup", "OOM at call 2", "❌", "timeout", "error in load", "OOM in warmup"):
        assert state in out
