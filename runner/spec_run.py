"""`run SPEC.json`: every case of the spec, in order, one record appended per case. Compiled
cases run in a process of their own (case_process.py): a clean compiler state for each."""
import json
import os
import sys
import time
import uuid

from . import schema, watchdog
from .case_process import run_compiled
from .case_run import log, run_case
from .envinfo import collect_env
from .versions import resolved_versions


def run_spec(path):
    watchdog.start()
    with open(path) as fh:
        spec = json.load(fh)
    if spec.get("kind") != schema.SPEC_KIND:
        sys.stderr.write("not a %s file: %s\n" % (schema.SPEC_KIND, path))
        return 2
    env = collect_env()
    variant = dict(spec.get("variant") or {})
    variant["resolved"] = resolved_versions()
    variant.setdefault("image", env.get("image"))
    cases = spec.get("cases") or []
    round_ = int(spec.get("round") or 1)
    process = {"id": uuid.uuid4().hex[:16], "pid": os.getpid(),
               "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    log("variant %s, round %d: %d case(s); torch %s, diffusers %s, transformers %s" % (
        variant.get("name"), round_, len(cases), variant["resolved"].get("torch"),
        variant["resolved"].get("diffusers"), variant["resolved"].get("transformers")))
    for number, case in enumerate(cases, 1):
        cid = case.get("id") or schema.case_id(dict(schema.CASE_DEFAULTS, **case))
        log("case %d/%d: %s" % (number, len(cases), cid))
        t0 = time.time()
        if (case.get("compile") or "off") != "off":
            record = run_compiled(case, spec, variant, env, log)
        else:
            record = run_case(case, spec["weights_dir"], spec.get("run_id"), variant, env)
        record["round"], record["process"] = round_, process
        try:
            schema.append_record(spec["results"], record)
        except OSError as exc:
            log("cannot write the results (%s): stopping" % exc)
            return schema.EXIT_CANNOT_WRITE
        m = record["metrics"]
        log("case %d/%d: %s in %.1fs%s" % (
            number, len(cases), record["status"], time.time() - t0,
            (", %.2f it/s" % m["it_per_s"]) if m.get("it_per_s") else ""))
    return 0
