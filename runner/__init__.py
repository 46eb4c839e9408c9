"""The container side: the benchmark runner (standard library + torch + diffusers).

    python -m vercompare_runner run SPEC.json   # the spec's cases, one record each -> spec["results"]
    python -m vercompare_runner case IN OUT     # one case in this process (how compiled cases run)
    python -m vercompare_runner env             # the environment as JSON
    python -m vercompare_runner flops sd-txt2img --weights random --batch-size 4

Modules: schema (the host <-> runner contract), spec_run (the case loop), case_run (one case:
load, knobs, compile, warmup, measured calls, status), case_process (a compiled case in a process
of its own, with its cold or warm compile cache), compiler (torch.compile: modes, regional, clean
state, dynamo's counters and timers), telemetry (NVML during the measured calls), timing
(per-step stamps, the progress bar's count), memory, fingerprint, faults (test-only injection),
outcome (exception -> status), knobs, inputs (init image, mask, canny), flops/flops_count,
envinfo/versions, compat (signature-based feature detection), workloads/ (one module per
pipeline), weights/ (tiny and random sets drawn from config and seed alone, by digest; configs/
holds the full-size configs).
"""
