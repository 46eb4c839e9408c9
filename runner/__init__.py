"""The container side: the benchmark runner (standard library + torch + diffusers).

    python -m vercompare_runner run SPEC.json   # the spec's cases, one record each -> spec["results"]
    python -m vercompare_runner env             # the environment as JSON
    python -m vercompare_runner flops sd-txt2img --weights random --batch-size 4

Modules: schema (the host <-> runner contract), spec_run (the case loop), case_run (one case:
load, knobs, compile, warmup, measured calls, status), timing (per-step stamps), memory,
fingerprint, faults (test-only injection), outcome (exception -> status), knobs, inputs
(init image, mask, canny), flops/flops_count, envinfo/versions, compat (signature-based
feature detection), workloads/ (one module per pipeline), weights/ (tiny and random sets
made once per run; configs/ holds the full-size configs).
"""
