#!/usr/bin/env bash
# The GPU check, in one command on a GPU machine without network (docs/gpu.md):
#
#   benchmarks/gpu/run.sh WHEELS_DIR OUT_DIR               # cuda, random full-size weights
#   benchmarks/gpu/run.sh --cpu-smoke WHEELS_DIR OUT_DIR   # the same steps on cpu, tiny weights
#
# WHEELS_DIR comes from benchmarks/gpu/fetch_wheels.sh. The machine's interpreter
# ($PYTHON, else python3) must have torch, transformers, huggingface_hub, typer, rich;
# diffusers comes from the wheels. Steps, each with its own time budget (and all within
# $TOTAL_BUDGET seconds), each going on when an earlier one failed:
#   a. vercompare run --backend local: the page's SD 1.5 txt2img rows, batch 1 / 4 / 16, eager and
#      compiled (reduce-overhead, fullgraph, channels_last), each compiled case cold and with a warm
#      compile cache, GPU telemetry (NVML) in every record
#   b. benchmarks/fidelity.py: the runner's it/s vs the progress bar's (>= 10 interleaved rounds, the
#      ratio's 95 % interval)
#   c. vercompare run --backend venv: diffusers A vs B on the machine's torch, offline (ONLY="a b c d")
#   d. vercompare report of each run: Markdown (in summary.md) and JSON; then summary.md compares the
#      figures with the page's A100 ones by share of peak (benchmarks/gpu/page_compare.py), lists each
#      reduce-overhead case's CUDA graphs (captured, or skipped and why), and puts step a's figures
#      (CUDA events, one synchronize per call) beside step e's
#   e. the old step timer (a synchronize after every step: VERCOMPARE_STEP_TIMER=sync) on SD batch 1
#      and 4, eager and compiled, for the side-by-side in summary.md
# OUT_DIR gets at most 8 files: summary.md, run.log, env.json, nvidia-smi.txt, report-local.json,
# report-venv.json (with c), runs.tar.gz (run dirs without weights, each step's output, the Markdown
# reports).
set -uo pipefail

smoke=0
if [ "${1:-}" = "--cpu-smoke" ]; then smoke=1; shift; fi
if [ $# -ne 2 ]; then
    echo "usage: $0 [--cpu-smoke] WHEELS_DIR OUT_DIR" >&2
    exit 2
fi
wheels=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" && out=$(cd "$2" && pwd) || exit 2
repo=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-}
if [ -z "$PY" ]; then  # the interpreter that has torch
    for candidate in python3 python; do
        if "$candidate" -c "import torch" 2>/dev/null; then PY=$candidate; break; fi
    done
    [ -n "$PY" ] || { echo "no python3/python here imports torch; set PYTHON" >&2; exit 2; }
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vercompare-gpu.XXXXXX")
started=$SECONDS
total=${TOTAL_BUDGET:-460}  # seconds for everything: the device run is given 8 minutes

exec > >(tee -a "$out/run.log") 2>&1
tee_pid=$!
mkdir -p "$work/steps" "$work/runs"

# The page's setting for compiled cases (pipe.unet = torch.compile(..., mode="reduce-overhead",
# fullgraph=True), UNet in channels_last); every compiled case once cold, once warm.
compiled=(--compile both --compile-cache both --fullgraph --channels-last --attention sdpa)
if [ $smoke = 1 ]; then
    device=cpu; weights=tiny; dtype=fp32
    # dynamo alone (eager backend): inductor costs minutes per case on CPU, and the smoke run is
    # about the script, not the figures; one round (a fresh process per case) where the device run
    # has two: each process costs seconds of CPU in the test suite, and a second round shows the
    # script nothing new
    matrix=(--batch-size 1 "${compiled[@]}" --compile-backend eager --steps 2 --warmup 1 --repeats 2 --rounds 1)
    venv_cases=(--batch-size 1 --steps 2 --warmup 1 --repeats 2 --rounds 1)
    fidelity=(--rounds 10 --warmup 1 --steps 2)
    timers=(--batch-size 1 "${compiled[@]}" --compile-cache cold --compile-backend eager --steps 2 --warmup 1
            --repeats 2 --rounds 1)
    budgets=(${BUDGET_LOCAL:-400} ${BUDGET_FIDELITY:-200} ${BUDGET_VENV:-400} ${BUDGET_REPORT:-60} ${BUDGET_TIMERS:-300})
    total=${TOTAL_BUDGET:-1500}
else
    device=cuda; weights=random; dtype=fp16
    # Fewer steps and repeats than the page's 50 x 5 (it/s is per step): the whole script must
    # fit the few minutes of GPU time a task gets; a cold compile costs about a minute a case,
    # a warm one seconds.
    matrix=(--batch-size 1 --batch-size 4 --batch-size 16 "${compiled[@]}"
            --steps "${STEPS:-20}" --warmup 1 --repeats "${REPEATS:-3}")
    venv_cases=(--batch-size 1 --steps "${STEPS:-20}" --warmup 1 --repeats "${REPEATS:-3}")
    fidelity=(--rounds "${ROUNDS:-12}" --warmup 1 --steps "${STEPS:-30}")
    timers=(--batch-size 1 --batch-size 4 "${compiled[@]}" --compile-cache cold
            --steps "${STEPS:-20}" --warmup 1 --repeats "${REPEATS:-3}")
    budgets=(${BUDGET_LOCAL:-300} ${BUDGET_FIDELITY:-50} ${BUDGET_VENV:-100} ${BUDGET_REPORT:-10} ${BUDGET_TIMERS:-120})
    total=${TOTAL_BUDGET:-480}
fi
diffusers_local=${DIFFUSERS_LOCAL:-0.42.1}
only=" ${ONLY:-a e b d} "  # e.g. ONLY="a d": a rerun that gives one step the whole time; "a b c d" adds the venv step
reserve=${RESERVE:-25}  # seconds kept for the reports (step d) whatever a, b, c take
diffusers_venv=(${DIFFUSERS_VENV:-0.36.0 0.42.1})

echo "# vercompare GPU check $(date -u +%FT%TZ) on ${HOSTNAME:-?}; smoke=$smoke; work dir $work"
printf '| step | exit | took | budget |\n| --- | --- | --- | --- |\n' > "$work/steps.md"

# step NAME BUDGET CMD...: runs CMD within min(BUDGET, what is left of the total, less the
# reserve for the reports unless it is one); skipped when its letter is not in $ONLY. SIGINT
# first: vercompare then stops its runner's process group and finishes run.json (a plain
# SIGTERM would leave the runner, in its own session, holding the GPU for the next step).
step() {
    local name=$1 budget=$2; shift 2
    local left=$((total - (SECONDS - started)))
    case $name in d-*) ;; *) left=$((left - reserve)) ;; esac
    if [[ $only != *" ${name:0:1} "* ]]; then
        printf '| %s | not asked (ONLY) | 0 s | 0 s |\n' "$name" >> "$work/steps.md"
        return 0
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    if [ "$budget" -le 5 ]; then
        echo "=== $name: skipped, no time left"
        printf '| %s | skipped | 0 s | 0 s |\n' "$name" >> "$work/steps.md"
        return 0
    fi
    local t0=$SECONDS
    echo "=== $name (budget ${budget} s): $*"
    timeout --signal=INT --kill-after=20 "$budget" "$@" 2>&1 | tee "$work/steps/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc after $((SECONDS - t0)) s"
    printf '| %s | %s | %s s | %s s |\n' "$name" "$rc" "$((SECONDS - t0))" "$budget" >> "$work/steps.md"
    return 0
}

# Staging: the host tool as copies on PYTHONPATH (no setuptools, nothing written in the
# repo), diffusers and the missing dependencies unzipped into a target directory.
"$PY" "$repo/benchmarks/gpu/stage.py" shim "$repo" "$work/shim" || { echo "staging the host tool failed"; exit 1; }
"$PY" "$repo/benchmarks/gpu/stage.py" wheels "$wheels" "$work/site" --diffusers "$diffusers_local" \
    || { echo "staging the wheels failed"; exit 1; }
export PYTHONPATH="$work/shim:$work/site${PYTHONPATH:+:$PYTHONPATH}"
export VERCOMPARE_VENV_ROOT="$work/venvs" VERCOMPARE_DB="$work/history.db"
export HF_HUB_OFFLINE=1 PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# The machine, as the records will describe it.
"$PY" -m vercompare_runner env > "$out/env.json" 2> "$work/env.err" || cat "$work/env.err"
if command -v nvidia-smi >/dev/null; then nvidia-smi -q > "$out/nvidia-smi.txt" 2>&1; else
    echo "nvidia-smi not found (smoke=$smoke)" > "$out/nvidia-smi.txt"; fi
torch_version=$("$PY" -c "import torch; print(torch.__version__)")
echo "python $("$PY" -c 'import sys; print(sys.version.split()[0], sys.executable, sys.prefix)')"
echo "torch $torch_version at $("$PY" -c 'import torch; print(torch.__file__)')"
echo "diffusers staged: $("$PY" -c 'import diffusers; print(diffusers.__version__, diffusers.__file__)')"
echo "pip: $("$PY" -m pip --version 2>&1) (the venv step needs >= 22.3 for pip --python)"
"$PY" -c "from vercompare.planning.versions import parse_torch; parse_torch('$torch_version')" \
    || echo "warning: vercompare does not know torch $torch_version: step c will refuse it"

step a-local "${budgets[0]}" "$PY" -m vercompare run --backend local --device $device --weights $weights \
    --dtype $dtype --pipeline sd-txt2img "${matrix[@]}" --weights-cache "$work/weights-cache" --out "$work/runs/local"

# The weights step a made (random full-size ones take a while to make): same tensors, no wait.
weights_dir=()
[ -d "$work/runs/local/weights" ] && weights_dir=(--weights-dir "$work/runs/local/weights")
# The old step timer on the same cases (batch 1 and 4): step a's figures beside these in summary.md.
step e-timers "${budgets[4]}" env VERCOMPARE_STEP_TIMER=sync "$PY" -m vercompare run --backend local \
    --device $device --weights $weights --dtype $dtype --pipeline sd-txt2img "${timers[@]}" \
    --weights-cache "$work/weights-cache" --out "$work/runs/old-timer"
step b-fidelity "${budgets[1]}" "$PY" "$repo/benchmarks/fidelity.py" --device $device --weights $weights \
    --dtype $dtype "${fidelity[@]}" "${weights_dir[@]}" --json

versions=()
for v in "${diffusers_venv[@]}"; do versions+=(--diffusers "$v"); done
step c-venv "${budgets[2]}" "$PY" -m vercompare run --backend venv --torch "$torch_version" "${versions[@]}" \
    --wheelhouse "$wheels" --device $device --weights $weights --dtype $dtype --pipeline sd-txt2img \
    --compile off --attention sdpa "${venv_cases[@]}" --out "$work/runs/venv"

for name in local venv; do
    if [ -f "$work/runs/$name/run.json" ]; then
        step "d-report-$name-md" "${budgets[3]}" "$PY" -m vercompare report "$work/runs/$name" --format md \
            --show all --out "$work/report-$name.md"
        [ -s "$work/report-$name.md" ] || step "d-report-$name-md-plain" "${budgets[3]}" "$PY" -m vercompare \
            report "$work/runs/$name" --format md --out "$work/report-$name.md"
        step "d-report-$name-json" "${budgets[3]}" "$PY" -m vercompare report "$work/runs/$name" --format json \
            --out "$out/report-$name.json"
    fi
done

# summary.md: what a person reads first.
{
    echo "# vercompare GPU check"
    echo
    echo "$(date -u +%FT%TZ), ${HOSTNAME:-?}, smoke=$smoke, torch $torch_version, total $((SECONDS - started)) s"
    echo
    cat "$work/steps.md"
    echo
    "$PY" "$repo/benchmarks/gpu/page_compare.py" "$work/runs/local" "$work/steps/b-fidelity.txt" \
        "$work/runs/old-timer" 2>&1 \
        || echo "(page_compare.py failed)"
    for name in local venv; do
        [ -d "$work/runs/$name" ] || continue
        echo; echo "## vercompare report ($name)"; echo
        cat "$work/report-$name.md" 2>/dev/null || echo "(no report)"
        # the venv builds: what was made from what, each command's time, or "reused"
        grep -h -E "^# (exit|base|[0-9]{4}-)|^reused|^error" "$work/runs/$name/logs/"build-*.log 2>/dev/null \
            | sed 's/^/    /' | head -30
    done
    echo; echo "## fidelity (runner it/s vs the progress bar)"; echo; echo '```'
    tail -n 40 "$work/steps/b-fidelity.txt" 2>/dev/null || echo "(no output)"
    echo '```'
} > "$out/summary.md"

tar -czf "$out/runs.tar.gz" -C "$work" --exclude='weights' --exclude='compile-cache' --exclude='*.safetensors' \
    runs steps steps.md $(cd "$work" && ls report-*.md 2>/dev/null)
echo "# done in $((SECONDS - started)) s; files in $out:"
ls -la "$out"
[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$work"
exec >&- 2>&-
wait "$tee_pid"  # run.log complete before the machine hands $out back
exit 0
