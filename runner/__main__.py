"""`python -m vercompare_runner run SPEC.json | env | check | flops ...`: the container entry point.

Kept thin: argument parsing only; torch and diffusers are imported by the commands that need them.
"""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vercompare_runner")
    sub = parser.add_subparsers(dest="command")
    p_run = sub.add_parser("run", help="run the cases of a spec file, appending one record per case")
    p_run.add_argument("spec", help="path of the spec JSON (schema.make_spec)")
    p_case = sub.add_parser("case", help="run one case in this process (how compiled cases run: a process each)")
    p_case.add_argument("input", help="JSON: case, weights_dir, run_id, variant, env, compile_cache")
    p_case.add_argument("output", help="where its record goes")
    sub.add_parser("env", help="print the environment as one JSON object")
    p_check = sub.add_parser("check", help="the environment's sanity check, as one JSON object")
    p_check.add_argument("--flavour", default="", help="cpu, cu128, ... (the build's)")
    p_check.add_argument("--torch", default="", help="the exact torch expected")
    p_check.add_argument("--nightly-date", default="", help="YYYY-MM-DD: a nightly not older than it")
    p_check.add_argument("--start", action="store_true",
                         help="the check before measuring: GPU, arch, NVML, torch.compile as the cases ask")
    p_check.add_argument("--device", default="cpu")
    p_check.add_argument("--mode", action="append", default=[], help="a compile mode of the run's cases")
    p_check.add_argument("--fullgraph", action="store_true")
    p_check.add_argument("--dtype", default="fp32")
    p_check.add_argument("--out", default="", help="--start: also write the verdict to this file")
    p_flops = sub.add_parser("flops", help="count FLOPs of one denoising step (meta device)")
    p_flops.add_argument("pipeline")
    p_flops.add_argument("--weights", default="random", choices=("tiny", "random"))
    p_flops.add_argument("--batch-size", type=int, default=1)
    p_flops.add_argument("--height", type=int, default=None)
    p_flops.add_argument("--width", type=int, default=None)
    args = parser.parse_args(argv)

    if args.command in ("run", "case", "check"):
        # Before torch loads: Triton's build step must find the GPU driver (runner/libcuda.py)
        from .libcuda import link_driver
        link_driver()
    if args.command == "run":
        from .spec_run import run_spec
        return run_spec(args.spec)
    if args.command == "case":
        from .case_process import child_main
        return child_main(args.input, args.output)
    if args.command == "check":
        from .check import main as check_main
        from .check import start_main
        if args.start:
            return start_main(args.out, args.device, args.mode or ["default"], args.fullgraph, args.dtype)
        return check_main(args.flavour, args.torch, args.nightly_date)
    if args.command == "env":
        import json

        from .envinfo import collect_env
        print(json.dumps(collect_env(), indent=2, sort_keys=True))
        return 0
    if args.command == "flops":
        import json

        from .flops import flops_command
        print(json.dumps(flops_command(args.pipeline, args.weights, args.batch_size,
                                       args.height, args.width), indent=2, sort_keys=True))
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
