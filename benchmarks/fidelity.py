"""Does the runner's it/s agree with what the reference page read off its progress bar?

Same process, same pipeline, interleaved calls (the order alternates every round):
  page:   pipe(...) with diffusers' progress bar on; the figure is tqdm's: the rate its bar
          prints last (what the page's authors read; smoothed, 2 decimals) and tqdm's plain
          average over the loop (bar iterations / time from bar creation to its close);
  runner: the runner's measurement (scheduler.step wrapper + denoiser pre-hook, a
          synchronize at each stamp on GPU), progress bar off, in two definitions:
          it_per_s       scheduler steps / loop time (what the runner reports as it/s)
          page_it_per_s  the bar's iterations / the same loop time (the page's definition)

Why they differ (the H200 run of 2026-11-26 saw runner / page = 1.091): the definitions. SD 1.5's
scheduler (PNDM with skip_prk_steps) runs steps + 1 scheduler steps per call, and diffusers'
progress bar counts `steps` of them (its first step is a "warmup" step it does not count): at 30
steps the runner's it/s is 31/30 = 1.033 times the bar's over the same time. What is left after
that is the timing (bar creation to close vs first denoiser forward to last step, and on a GPU the
runner's synchronize at each stamp): page_it_per_s against tqdm's average measures it, and must be
within 1 %. Both figures are in every record; reports show the page's with --show page.

Prints each figure's median with its spread, and the per-round ratios with a 95 % bootstrap
interval of their median.

    python benchmarks/fidelity.py                          # CPU, tiny weights
    python benchmarks/fidelity.py --device cuda --weights random --dtype fp16 --rounds 12

Needs torch + diffusers (+ transformers); the runner package is found from this checkout.
"""
import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time


def _import_runner():
    try:
        import vercompare_runner  # noqa: F401
    except ImportError:
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        shim = os.path.join(tempfile.gettempdir(), "vercompare-runner-shim")
        os.makedirs(shim, exist_ok=True)
        link = os.path.join(shim, "vercompare_runner")
        if not os.path.exists(link):
            os.symlink(os.path.join(repo, "runner"), link)
        sys.path.insert(0, shim)


def _parse_rate(line):
    """it/s from a tqdm line: "20/20 [00:00<00:00, 26.58it/s]" or "[.., 1.52s/it]"."""
    import re
    found = re.findall(r"([0-9.]+)\s*(it/s|s/it)", line)
    if not found:
        return None
    value, unit = found[-1]
    value = float(value)
    return value if unit == "it/s" else (1.0 / value if value else None)


def _spread(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return "n/a"
    med = statistics.median(values)
    rsd = (statistics.stdev(values) / statistics.mean(values)) if len(values) > 1 else 0.0
    return "median %.3f  min %.3f  max %.3f  rsd %.1f%%  (n=%d)" % (med, values[0], values[-1], 100 * rsd, len(values))


def _interval(values, confidence=0.95, resamples=2000):
    """(median, low, high): a percentile bootstrap of the median (seeded: the same figures give
    the same interval)."""
    import random
    values = [v for v in values if v is not None]
    if not values:
        return None, None, None
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choice(values) for _ in values) for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    return statistics.median(values), meds[int(tail * resamples)], meds[min(resamples - 1, int((1 - tail) * resamples))]


def _ratio_line(name, ratios, target=0.01):
    med, low, high = _interval(ratios)
    if med is None:
        return "%s: n/a" % name
    within = "within" if low is not None and abs(med - 1.0) <= target else "NOT within"
    return "%s: median %.4f (95 %% CI %.4f-%.4f, n=%d); %s %.0f %% of 1" % (
        name, med, low, high, len([r for r in ratios if r is not None]), within, target * 100)


def main(argv=None):
    _import_runner()
    from vercompare_runner.vocabulary import WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default="sd-txt2img")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights", default="tiny", choices=WEIGHTS)
    parser.add_argument("--dtype", default=None, help="fp32 | fp16 | bf16 (default: fp32 on cpu, fp16 on cuda)")
    parser.add_argument("--steps", type=int, default=None, help="default: 20 on cpu, the workload's on cuda")
    parser.add_argument("--height", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=10, help="interleaved (page, runner) pairs (at least 10)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--weights-dir", default=None, help="where tiny/random weights are made (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    args = parser.parse_args(argv)

    _import_runner()
    import torch

    from vercompare_runner import knobs, schema, workloads
    from vercompare_runner.timing import LoopTimer, WallClock
    from vercompare_runner.workloads.base import Components

    cuda = args.device.startswith("cuda")
    dtype_name = args.dtype or ("fp16" if cuda else "fp32")
    steps = args.steps if args.steps is not None else (None if cuda else 20)
    case = dict(schema.CASE_DEFAULTS, pipeline=args.pipeline, device=args.device, weights=args.weights,
                dtype=dtype_name, steps=steps, height=args.height, width=args.width, batch_size=args.batch_size)
    weights_dir = args.weights_dir or os.path.join(tempfile.gettempdir(), "vercompare-fidelity-weights")
    workload = workloads.get(args.pipeline)
    dtype = knobs.torch_dtype(dtype_name)
    t0 = time.perf_counter()
    stages = workload.build(case, Components(case, weights_dir, args.device, dtype))
    print("built %s (%s weights, %s, %s) in %.1fs" % (args.pipeline, args.weights, dtype_name, args.device,
                                                      time.perf_counter() - t0))
    inp = workload.inputs(case)
    sync = (lambda: torch.cuda.synchronize(args.device)) if cuda else None

    # The page's bar: diffusers' own tqdm, kept so its figures can be read after the call.
    bars = []
    for stage in stages:
        pipe = stage.pipe
        original = pipe.progress_bar

        def progress_bar(*a, _original=original, **k):
            bar = _original(*a, **k)
            close = bar.close

            def closing():
                # the bar closes right after the loop: steps and seconds since its creation
                if not hasattr(bar, "_loop") and hasattr(bar, "start_t"):  # disabled bars have none
                    bar._loop = (bar.n, time.time() - bar.start_t)  # tqdm's own clock
                return close()
            bar.close = closing
            bars.append(bar)
            return bar
        pipe.progress_bar = progress_bar

    def page_call(timed=False):
        """A call with the page's bar on: (shown, average[, the runner's loop of the same call])."""
        buf = io.StringIO()
        for stage in stages:
            # tqdm's defaults otherwise (mininterval 0.1 s), as on the page.
            stage.pipe.set_progress_bar_config(disable=False, file=buf)
        del bars[:]
        timer = None
        if timed:  # the runner's stamps in the same call: only the clock windows differ
            timer = LoopTimer(WallClock(sync))
            timer.attach(stages[0].pipe, stages[0].denoisers())
            timer.begin()
        workload.call(stages, case, inp, torch.Generator("cpu").manual_seed(0))
        loop = None
        if timer is not None:
            loop = timer.end()
            timer.detach()
        bar = bars[0]  # stage 1 for multi-stage pipelines
        # What the page read: the rate printed on the bar's last line, as the user sees it
        # (tqdm prints it when the bar closes, right after the loop; 2 decimals, smoothed).
        first_bar = buf.getvalue().split("\n")[0]
        shown = _parse_rate(first_bar.split("\r")[-1])
        # tqdm's own plain average over the loop: steps / (bar close - bar creation).
        # (format_dict["elapsed"] would be read now, after VAE decode: not the loop.)
        steps, seconds = getattr(bar, "_loop", (bar.n, None))
        average = steps / seconds if seconds else None
        return shown, average, loop

    def runner_call():
        for stage in stages:
            stage.pipe.set_progress_bar_config(disable=True)
        timer = LoopTimer(WallClock(sync))
        timer.attach(stages[0].pipe, stages[0].denoisers())
        timer.begin()
        workload.call(stages, case, inp, torch.Generator("cpu").manual_seed(0))
        loop = timer.end()
        timer.detach()
        return loop

    def page_definition(loop):
        return loop["bar_steps"] / loop["loop_s"] if loop and loop.get("bar_steps") and loop["loop_s"] > 0 else None

    for _ in range(args.warmup):
        page_call()
        runner_call()
    page_shown, page_avg, runner, runner_page, ratios, page_ratios, same_call = [], [], [], [], [], [], []
    counts = None
    calls = ("page", "runner", "both")
    for index in range(args.rounds):
        # Rotate the order so no method always runs on a warmer (or busier) machine.
        for kind in calls[index % 3:] + calls[:index % 3]:
            if kind == "page":
                shown, avg, _ = page_call()
            elif kind == "runner":
                loop = runner_call()
            else:
                _, joint_avg, joint_loop = page_call(timed=True)
        counts = (loop["steps"], loop.get("bar_steps"))
        page_shown.append(shown)
        page_avg.append(avg)
        runner.append(loop["it_per_s"])
        runner_page.append(page_definition(loop))
        ratios.append(loop["it_per_s"] / avg if avg else None)
        page_ratios.append(page_definition(loop) / avg if (avg and page_definition(loop)) else None)
        joint = page_definition(joint_loop)
        same_call.append(joint / joint_avg if (joint and joint_avg) else None)
    print("scheduler steps per call: %s; progress-bar iterations: %s" % counts)
    print("page (tqdm shown)      it/s: %s" % _spread(page_shown))
    print("page (tqdm average)    it/s: %s" % _spread(page_avg))
    print("runner it_per_s        it/s: %s" % _spread(runner))
    print("runner page_it_per_s   it/s: %s" % _spread(runner_page))
    print(_ratio_line("ratio runner it_per_s / page, separate calls (definitions differ)", ratios))
    print(_ratio_line("ratio runner page_it_per_s / page, separate calls (same definition)", page_ratios))
    print(_ratio_line("ratio runner page_it_per_s / page, same call (only the clock windows differ)", same_call))
    if args.json:
        print(json.dumps({"page_shown": page_shown, "page_average": page_avg, "runner": runner,
                          "runner_page_definition": runner_page, "ratios": ratios, "page_ratios": page_ratios,
                          "same_call_ratios": same_call, "page_ratio_interval": _interval(page_ratios),
                          "same_call_interval": _interval(same_call), "steps": counts[0], "bar_steps": counts[1],
                          "case": {k: case[k] for k in ("pipeline", "device", "weights", "dtype", "steps",
                                                        "height", "width", "batch_size")},
                          "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
