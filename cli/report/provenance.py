"""Provenance: which exact versions, image, machine and command produced a run's numbers, read
from run.json and the records' env; a variant without resolved versions is "unproven"."""
from __future__ import annotations

from vercompare.report.model import Provenance, VariantInfo
from vercompare.report.records import device_label, find, gpu_info, knob_text, nightly_date, torch_git


def provenance_of(loaded_run, meta_variants, names, measured):
    """The run's provenance from run.json and each cell's last record (`measured`: records.Measured,
    in the records' order), and the variants it proves."""
    meta = loaded_run.meta or {}
    by_name = {v["name"]: v for v in meta_variants}
    rec_by_variant: dict[str, dict] = {}
    machines: list[str] = []
    seen: set = set()
    for m in measured:  # each record read once, for both
        r, name, env = m.last, m.variant, m.last.get("env")
        # a variant's record with env (failed-early ones may lack it)
        if name not in rec_by_variant or (env and not rec_by_variant[name].get("env")):
            rec_by_variant[name] = r
        if env:
            # one line per variant x device string is enough (a run is one machine)
            key = (name, m.case.get("device"))
            if key not in seen:
                seen.add(key)
                line = _machine_line(r, env)
                if line not in machines:
                    machines.append(line)
    infos, proven = [], set()
    for name in names:
        mv = by_name.get(name, {})
        rv = (rec_by_variant.get(name) or {}).get("variant") or {}
        resolved = dict(mv.get("resolved") or {})
        resolved.update(rv.get("resolved") or {})
        env = (rec_by_variant.get(name) or {}).get("env") or {}
        mimage = mv.get("image")
        if isinstance(mimage, dict):  # the backend's info: {"id", "tag", ...}
            tag = mimage.get("tag")
            mimage = mimage.get("digest") or mimage.get("id") or tag
            if tag and mimage and tag != mimage:
                mimage = f"{mimage} ({tag})"
        image = mimage or rv.get("image") or env.get("image")
        if not resolved:  # fall back on the versions the runner saw
            resolved = {k: env[k] for k in ("torch", "diffusers", "transformers")
                        if isinstance(env.get(k), str) and env.get(k)}
        torch_v = resolved.get("torch")
        git = torch_git(env)
        if resolved:
            proven.add(name)
        infos.append(VariantInfo(name, tuple(sorted((k, str(v)) for k, v in resolved.items())),
                                 str(image) if image else None, git,
                                 nightly_date(str(torch_v) if torch_v else None)))
    if not machines and meta.get("machine"):
        machines.append(knob_text(meta["machine"]) if not isinstance(meta["machine"], dict)
                        else ", ".join(f"{k} {v}" for k, v in sorted(meta["machine"].items())))
    command = meta.get("command")
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    prov = Provenance(str(loaded_run.path), command, meta.get("created_at"), tuple(infos), tuple(machines),
                      (), len(loaded_run.problems))
    return prov, proven


def _machine_line(record: dict, env: dict) -> str:
    """The machine a record ran on, in one line: the CPU, or the GPU with its driver, clocks, CUDA."""
    if device_label(record) == "cpu":
        cpu = env.get("cpu_model") or find(env, ("cpu", "processor"))
        line = f"cpu{(' ' + str(cpu)) if cpu and not isinstance(cpu, dict) else ''}"
        if env.get("torch_num_threads"):
            line += f", {env['torch_num_threads']} torch threads"
        return line
    g = gpu_info(env)
    line = str(g["name"] or "gpu")
    line += f", driver {g['driver']}" if g["driver"] else ", driver unknown"
    line += f", clocks {g['clocks']}" if g["clocks"] else ", clocks unknown"
    cuda = env.get("torch_cuda") or find(env, ("cuda", "cuda_version"))
    if cuda and not isinstance(cuda, dict):
        line += f", CUDA {cuda}"
    return line

