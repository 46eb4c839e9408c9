"""Per-step timestamps of the denoising loop, the same way on every diffusers version.

The end of each step: a wrapper around pipe.scheduler.step (functools.wraps keeps its
signature: pipelines inspect it for `generator`/`eta`; without it IF's noise is unseeded).
The start of the loop: a forward pre-hook on the denoiser(s) (UNet, ControlNet), first
call wins. Registered on the object the pipeline calls, i.e. the compiled wrapper when
compile is on, so the hook runs eagerly outside the graph.

On CUDA a stamp is a CUDA event recorded on the stream, and the call synchronises once, at its end
(EventClock): the page's loop never synchronised, and a synchronize after every step stalls the
CPU's queueing of the next step's kernels, which costs fast compiled steps most. The old timer (a
synchronize before every stamp: WallClock with a sync) stays, for benchmarks/gpu/ to put the two
side by side: VERCOMPARE_STEP_TIMER=sync.
callback_on_step_end would be the public way, but IF never got it and ControlNet only
from 0.24; the notes measured both methods agreeing within 0.5 %.

The page's own figure is its progress bar's: the bar's iterations over the loop. The bar does
not count every scheduler step (with PNDM, SD's scheduler, the loop runs steps + 1 scheduler
steps and the bar counts `steps`), so the timer also counts the bar's updates (the bar stays
disabled: wrapping pipe.progress_bar counts the calls to its update).
"""
import functools
import os
import time

TIMER_ENV = "VERCOMPARE_STEP_TIMER"  # "sync": the old per-step synchronize on CUDA (side by side)


class WallClock(object):
    """perf_counter stamps; with `sync` (the old CUDA timer) a synchronize before every stamp."""

    kind = "wall"

    def __init__(self, sync=None):
        self._sync = sync
        if sync is not None:
            self.kind = "wall, synchronize per step"

    def stamp(self):
        if self._sync is not None:
            self._sync()
        return time.perf_counter()

    def seconds(self, stamps):
        return list(stamps)


class EventClock(object):
    """CUDA events, no synchronize in the loop: `seconds` waits once, for the last event, and reads
    each event's time from the first (torch.cuda.Event.elapsed_time, milliseconds)."""

    kind = "cuda events, synchronize once per call"

    def __init__(self, cuda):
        self._cuda = cuda  # the torch.cuda module (a fake one in the unit tests)

    def stamp(self):
        event = self._cuda.Event(enable_timing=True)
        event.record()
        return event

    def seconds(self, stamps):
        stamps[-1].synchronize()
        return [stamps[0].elapsed_time(e) / 1000.0 for e in stamps]


def clock_for(device, mode=None):
    """The step clock of a device: events on CUDA, the wall clock elsewhere; mode "sync" (or the
    environment's VERCOMPARE_STEP_TIMER=sync): the old timer."""
    if not str(device).startswith("cuda"):
        return WallClock()
    import torch
    if (mode or os.environ.get(TIMER_ENV)) == "sync":
        return WallClock(lambda: torch.cuda.synchronize(device))
    return EventClock(torch.cuda)


class LoopTimer(object):
    def __init__(self, clock=None):
        self._clock = clock or WallClock()
        self._start = None
        self._ends = []
        self._handles = []
        self._scheduler = None
        self._armed = False
        self._bar_steps = 0
        self._pipe = None

    @property
    def kind(self):
        return self._clock.kind

    def _stamp(self):
        return self._clock.stamp()

    def attach(self, pipe, denoisers):
        scheduler = pipe.scheduler
        original = scheduler.step
        timer = self

        @functools.wraps(original)
        def step(*args, **kwargs):
            result = original(*args, **kwargs)
            if timer._armed:
                timer._ends.append(timer._stamp())
            return result

        scheduler.step = step
        self._scheduler = (scheduler, original)

        def pre_hook(module, args):
            if timer._armed and timer._start is None:
                timer._start = timer._stamp()
            return None

        for module in denoisers:
            if module is not None:
                self._handles.append(module.register_forward_pre_hook(pre_hook))

        make_bar = getattr(pipe, "progress_bar", None)
        if make_bar is not None:
            @functools.wraps(make_bar)
            def progress_bar(*args, **kwargs):
                bar = make_bar(*args, **kwargs)
                update = bar.update

                def counting_update(n=1):
                    if timer._armed:
                        timer._bar_steps += n
                    return update(n)
                try:
                    bar.update = counting_update
                except AttributeError:  # not a tqdm-like object: the bar is not counted
                    pass
                return bar

            self._pipe = (pipe, vars(pipe).get("progress_bar"))  # an instance's own wrapper comes back
            pipe.progress_bar = progress_bar

    def detach(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._scheduler is not None:
            scheduler, original = self._scheduler
            try:
                del scheduler.step  # back to the class method
            except AttributeError:
                scheduler.step = original
            self._scheduler = None
        if self._pipe is not None:
            pipe, before = self._pipe
            if before is not None:
                pipe.progress_bar = before
            else:
                try:
                    del pipe.progress_bar  # back to the class method
                except AttributeError:
                    pass
            self._pipe = None

    def begin(self):
        self._start = None
        self._ends = []
        self._bar_steps = 0
        self._armed = True

    def end(self):
        """{"steps", "loop_s", "step_s": [...], "it_per_s", "bar_steps"} of the call just made (None if
        no step ran)."""
        self._armed = False
        start, ends = self._start, list(self._ends)
        bar_steps = self._bar_steps
        self._start, self._ends, self._bar_steps = None, [], 0
        if start is None or not ends:
            return None
        stamps = self._clock.seconds([start] + ends)
        step_s = [b - a for a, b in zip(stamps, stamps[1:])]
        loop_s = stamps[-1] - stamps[0]
        return {
            "steps": len(step_s),
            "loop_s": loop_s,
            "step_s": step_s,
            "it_per_s": (len(step_s) / loop_s) if loop_s > 0 else None,
            "bar_steps": bar_steps or None,
        }
