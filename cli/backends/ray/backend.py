"""Ray backend: the matrix over a fleet. Each variant x GPU type x round is a Ray task that asks for
one GPU of that type (Ray's `accelerator_type:<TYPE>` resource, which GPU nodes advertise) and runs
the variant's image in that node's own Docker engine (node.py); its records stream back into the
one run directory here, each naming its node and GPU type.

- Machines: a GPU type no live node has is refused before anything runs (Ray would leave the task
  pending for ever), listing the types the cluster has; a type's slots are its live nodes.
- Images: prepared on every live node of the run's types at once (cached per node: variants that
  share a node share its layers); a node that joins later builds on its first task. With a registry
  (--registry): built on one node (the variants take turns), pushed, and pulled by digest on the
  others; a node that cannot pull it runs none of that variant's units (they go to the others of its
  type, or end `error` saying why).
- Faults: a node that dies under a task ends it with cause "lost" (the driver starts the rest
  again, on another node of the type, or records `error` "node lost"); containers carry the run id
  and task, and are reaped on every live node at the end and at the next run's start.
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from vercompare import rundir
from vercompare.backends.base import Backend, DiskNeed, Prepared, RunnerPaths, resolved_from_freeze
from vercompare.backends.docker.backend import build_servers, container_paths
from vercompare.backends.ray import node
from vercompare.backends.ray.config import RayConfig
from vercompare.errors import BadInput, Cancelled, EngineUnavailable
from vercompare.rundir import slugify

INSTALL_HINT = "pip install 'vercompare[ray]'"
PENDING_CHECK_S = 2.0  # how often a task not yet started looks for a live node of its type
# Ray's errors that mean the machine (or its worker) went away, not the code under test.
_LOST = ("NodeDiedError", "WorkerCrashedError", "ActorDiedError", "ObjectLostError", "OwnerDiedError",
         "ObjectReconstructionFailedError", "RaySystemError", "LocalRayletDiedError")


def _ray():
    try:
        import ray
    except ImportError:
        raise BadInput("--backend ray needs Ray, which is not installed", hint=INSTALL_HINT) from None
    return ray


def is_lost(exc: BaseException) -> bool:
    return any(type(e).__name__ in _LOST for e in (exc, getattr(exc, "cause", None)) if e is not None)


class RayProcess:
    """A runner on a node, seen from here: a thread reads the task's stream, appends each record
    (with its node) to the run directory's results.jsonl and the log to log_path."""

    def __init__(self, ray, stream, run_dir: Path, log_path: Path, gpu_type: str, live: Callable[[], bool],
                 unpullable: Callable[[str, str], None] = lambda node_id, why: None):
        self._ray, self._stream = ray, stream
        self._run_dir, self._log_path, self._gpu_type = run_dir, log_path, gpu_type
        self._live = live  # whether a live node of the type is left
        self._unpullable = unpullable  # told the node that could not pull the image, and why
        self._code: int | None = None
        self._cause: str | None = None
        self._why: str | None = None
        self._gone = False  # cancelled while pending because no node of its type is left
        self._checked = 0.0
        self.node: dict = {}
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        ray = self._ray
        try:
            with open(self._log_path, "a") as log:
                for ref in self._stream:
                    item = ray.get(ref)
                    if "node" in item:
                        self.node = {**item["node"], "gpu_type": self._gpu_type}
                        log.write(f"[vercompare] on node {self.node['id'][:12]} ({self.node['address']}, "
                                  f"{self._gpu_type}, engine {self.node['engine']})\n")
                    elif "record" in item:
                        record = json.loads(item["record"])
                        record["node"] = self.node  # which machine measured it
                        rundir.append(self._run_dir, record)
                    elif "log" in item:
                        log.write(item["log"])
                    elif "file" in item:  # what the runner wrote in its specs/ (the check's verdict)
                        (self._run_dir / "specs" / Path(item["file"]).name).write_text(item["text"])
                    elif "exit" in item:
                        self._code, self._cause, self._why = int(item["exit"]), item.get("cause"), item.get("why")
                        if item.get("unpullable"):
                            self._unpullable(self.node.get("id", ""), item.get("why") or "")
                    log.flush()
        except Exception as exc:
            lost = is_lost(exc) or self._gone
            cancelled = type(exc).__name__ == "TaskCancelledError"
            self._code, self._cause = -1, "lost" if lost else ("killed" if cancelled else None)
            with open(self._log_path, "a") as log:
                log.write(f"[vercompare] the task ended: {type(exc).__name__}: "
                          f"{(str(exc).splitlines() or [''])[0][:300]}\n")
        if self._code is None:  # the stream ended without saying how: the task was stopped
            self._code, self._cause = -1, "killed"

    def poll(self) -> int | None:
        if self._thread.is_alive() and not self.node and time.monotonic() - self._checked > PENDING_CHECK_S:
            # Not started yet: Ray keeps a task pending for ever when the last node of its type died
            # between our check and its scheduling. Then it is lost like that node.
            self._checked = time.monotonic()
            if not self._live():
                self._gone = True
                with open(self._log_path, "a") as log:
                    log.write(f"[vercompare] no live node of GPU type {self._gpu_type} is left: task cancelled\n")
                self.kill()
        return None if self._thread.is_alive() else self._code

    def cause(self) -> str | None:
        return self._cause

    def why(self) -> str | None:
        """What a runner that ended "lost" without its node dying met (a registry it could not pull from)."""
        return self._why

    def kill(self) -> None:
        with contextlib.suppress(Exception):  # already finished, or its node is gone
            self._ray.cancel(self._stream)

    def close(self) -> None:
        if self._thread.is_alive():
            self.kill()
            self._thread.join(timeout=30)


class _Gone:
    """A runner that cannot start: the machines of its GPU type are gone (cause "lost")."""

    def __init__(self, log_path: Path, why: str, reason: str | None = None):
        self._reason = reason  # said in the record past the retries; None: "node lost"
        with open(log_path, "a") as log:
            log.write(f"[vercompare] {why}\n")

    def poll(self) -> int:
        return -1

    def cause(self) -> str:
        return "lost"

    def why(self) -> str | None:
        return self._reason

    def kill(self) -> None:
        pass

    def close(self) -> None:
        pass


def placement(live: list[dict], unpullable: dict[str, str], gpu_type: str, turn: int) -> tuple[str | None, str | None]:
    """Where a unit of a variant may run among the live nodes of its GPU type, given the nodes that
    could not pull its image (node id -> why): (None, None) any of them (Ray picks a free one);
    (node id, None) only that one, the usable ones taking turns; (None, why) none."""
    usable = [n["id"] for n in live if n["id"] not in unpullable]
    if not usable:
        why = next((unpullable[n["id"]] for n in live if n["id"] in unpullable), "")
        return None, f"no node of GPU type {gpu_type} could pull the image: {why}"
    return (None, None) if len(usable) == len(live) else (usable[turn % len(usable)], None)


def builders(nodes: list[dict], cannot_reach: dict[str, str], turn: int) -> list[dict]:
    """The order in which nodes are asked to build a variant once and push it: the variants take
    turns over the nodes whose engine reached the registry; those that did not come last (tried all
    the same should the probe have misjudged one, each costing a build). Each group turns on its own:
    turning the whole list would hand a reachable node the unreachable one's turns as well."""
    def turned(group: list[dict]) -> list[dict]:
        k = turn % len(group) if group else 0
        return group[k:] + group[:k]
    return (turned([n for n in nodes if n["id"] not in cannot_reach])
            + turned([n for n in nodes if n["id"] in cannot_reach]))


class RayBackend(Backend):
    name = "ray"
    config_class = RayConfig

    def __init__(self, config: RayConfig):
        super().__init__(config)
        self.ray = _ray()
        self._urls: tuple = (None, None)
        self._plans: dict = {}  # variant name -> plan (its image is defined again on each node)
        self._run_ids: set[str] = set()
        self._lanes: tuple[str, ...] = ()
        self._refs: dict[str, str] = {}  # variant name -> its image by registry digest (with --registry)
        self._unpullable: dict[str, dict[str, str]] = {}  # variant name -> node id -> why it cannot pull it
        self._lock = threading.Lock()  # variants are prepared and started from threads
        self._turn = 0  # spreads the builds (with a registry) and the retries over the nodes
        self._unreachable: dict[str, str] | None = None  # node id -> why its engine cannot reach the registry
        self._probe_lock = threading.Lock()  # the registry is probed once, by the first variant prepared

    @classmethod
    def create(cls, settings, device: str) -> "RayBackend":
        backend = cls(RayConfig.from_settings(settings, device))
        backend.connect()
        return backend

    def connect(self) -> None:
        ray, address = self.ray, self.config.address
        try:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        except Exception as exc:
            raise EngineUnavailable(f"no Ray cluster at {address} ({(str(exc).splitlines() or [''])[0][:120]})",
                                    hint="start one (`ray start --head`) or pass --ray-address HOST:PORT") from None
        self._reap()  # containers of runs whose driver died, on every node: before this run starts

    # -- the machines ---------------------------------------------------------------------------

    def nodes(self) -> list[dict]:
        """The live nodes: {"id", "address", "gpu_types", "gpus"}."""
        out = []
        for n in self.ray.nodes():
            if not n.get("Alive"):
                continue
            resources = n.get("Resources") or {}
            out.append({"id": n["NodeID"], "address": n.get("NodeManagerAddress"), "gpus": resources.get("GPU", 0),
                        "gpu_types": sorted(k[len(node.GPU_TYPE_PREFIX):] for k in resources
                                            if k.startswith(node.GPU_TYPE_PREFIX))})
        return out

    def of_type(self, gpu_type: str) -> list[dict]:
        return [n for n in self.nodes() if gpu_type in n["gpu_types"] and n["gpus"] >= 1]

    def check_machines(self, lanes: tuple[str, ...]) -> None:
        have = sorted({t for n in self.nodes() if n["gpus"] >= 1 for t in n["gpu_types"]})
        listing = f"the cluster's live nodes have: {', '.join(have) or 'no GPU types'}"
        if not any(lanes):
            raise BadInput(f"--backend ray needs --gpu-type ({listing})", hint="pass --gpu-type TYPE (repeatable)")
        missing = [lane for lane in lanes if lane not in have]
        if missing:
            raise BadInput(f"no live node of the Ray cluster has GPU type {', '.join(missing)}; {listing}",
                           hint="pass --gpu-type with one of those, or start a node of that type")
        self._lanes = lanes

    def slots(self, lane: str) -> int:
        return max(1, len(self.of_type(lane)))

    def _on_each(self, nodes: list[dict], fn, *args) -> list:
        """fn(*args) as a task pinned to each of the nodes; the object refs, in that order."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        task = self.ray.remote(fn)
        return [task.options(num_cpus=0, max_retries=0,
                             scheduling_strategy=NodeAffinitySchedulingStrategy(n["id"], soft=False)).remote(*args)
                for n in nodes]

    def machines(self) -> list[dict]:
        """The live nodes with a GPU: those vercompare runs containers on."""
        return [n for n in self.nodes() if n["gpus"] >= 1]

    def _reap(self, run_ids: tuple[str, ...] = ()) -> list[str]:
        """On every live GPU node: the containers of these runs, and those whose driver is gone."""
        nodes = self.machines()
        refs = self._on_each(nodes, node.reap_here, list(run_ids))
        gone = []
        for n, ref in zip(nodes, refs):
            try:
                gone += [f"{n['address']}: {what}" for what in self.ray.get(ref, timeout=60)]
            except Exception as exc:  # a node that cannot be reached now is reaped at the next start
                gone.append(f"{n['address']}: not reaped ({type(exc).__name__})")
        return gone

    # -- the Backend interface ------------------------------------------------------------------

    def preflight(self, plans: tuple) -> DiskNeed:
        if self.config.docker.registry is not None:
            from vercompare.images import registry

            registry.require(self.config.docker.registry)
        return DiskNeed()  # the disks are the nodes'; a build that does not fit fails that variant

    def describe(self) -> dict:
        """Every GPU node (GPU types, GPU driver, engine), for the provenance."""
        nodes = self.machines()
        refs = self._on_each(nodes, node.describe_here)
        described = []
        for n, ref in zip(nodes, refs):
            try:
                described.append({**n, **self.ray.get(ref, timeout=60)})
            except Exception as exc:
                described.append({**n, "docker": f"unreachable ({type(exc).__name__})"})
        return {"ray": self.ray.__version__, "ray_address": self.config.address, "nodes": described}

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with build_servers(self.config.docker.build) as urls:
            self._urls = urls
            try:
                yield
            finally:
                self._urls = (None, None)

    def paths(self, run_dir: Path) -> RunnerPaths:
        return container_paths()  # the runner sees its node's scratch run directory there

    def _next(self) -> int:
        with self._lock:
            self._turn += 1
            return self._turn - 1

    def _gather(self, nodes: list[dict], refs: list, cancel) -> tuple[list[dict], list[str]]:
        """The tasks' answers (in the nodes' order) once all are in, and the addresses of the nodes
        that died meanwhile (a node that died runs nothing: what it did does not matter)."""
        pending = list(refs)
        while pending:
            _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=0.5)
            if cancel is not None and cancel.is_set():
                for ref in pending:
                    self.ray.cancel(ref, force=True)
                raise Cancelled()
        answers, gone = [], []
        for n, ref in zip(nodes, refs):
            try:
                answers.append(self.ray.get(ref))
            except Exception as exc:
                if not is_lost(exc):
                    raise
                gone.append(n["address"])
        return answers, gone

    def prepare(self, plan, run_dir: Path, say: Callable[[str], None], cancel=None) -> Prepared:
        """The variant's image on every live node of the run's GPU types: built on each at once, or,
        with a registry, built on one of them (the variants take turns), pushed, and pulled by digest
        on the others."""
        from vercompare.images.build import BuildFailed

        self._plans[plan.name] = plan
        nodes = [n for n in self.nodes() if any(t in self._lanes for t in n["gpu_types"])]
        once = self.config.docker.registry is not None and len(nodes) > 0
        if once:
            built = self._build_once(plan, nodes, say, cancel)
        else:
            say(f"on {len(nodes)} node(s)")
            built, _ = self._gather(nodes, self._on_each(nodes, node.build_here, self.config.docker, plan,
                                                         self._urls), cancel)
        if not built:
            raise BuildFailed(plan.name, run_dir / "logs", ["every node of the run's GPU types went away"])
        failed = [b for b in built if b["failed"]]
        if failed:
            log_path = run_dir / "logs" / f"build-{slugify(plan.name)}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text("".join(f"node {b['node']['address']} ({b['node']['id'][:12]}):\n" + "\n".join(b["tail"])
                                        + "\n" for b in failed))
            raise BuildFailed(plan.name, log_path, failed[0]["tail"])
        first = built[0]
        info = {"backend": self.name, "tag": first["tag"], "id": first["id"], "built": any(b["built"] for b in built),
                "base_image": first["base_image"], "freeze": first["freeze"].splitlines(),
                "nodes": {b["node"]["id"]: {"address": b["node"]["address"], "id": b["id"], "built": b["built"]}
                          for b in built}}
        verb = f"built on {sum(b['built'] for b in built)}, reused on {sum(not b['built'] for b in built)} node(s)"
        if once:
            info.update(registry=first["registry"], ref=first["ref"], built_on=first["node"]["id"])
            verb += self._pull_everywhere(plan.name, first, [n for n in nodes if n["id"] != first["node"]["id"]],
                                          info["nodes"], say, cancel)
        return Prepared(plan.name, first["tag"], resolved_from_freeze(first["freeze"]), info, verb=verb)

    def _build_once(self, plan, nodes: list[dict], say: Callable[[str], None], cancel) -> list[dict]:
        """Built on one node and pushed: the first, in `builders` order, whose push lands (a node that
        built but could not push hands over to the next). The answer of the node that pushed; else
        those of the nodes that could not (none: every node went away)."""
        cannot = self._cannot_reach(nodes, say, cancel)
        could_not: list[dict] = []
        for n in builders(nodes, cannot, self._next()):
            say(f"on node {n['address']} ({n['id'][:12]})")
            answers, _ = self._gather([n], self._on_each([n], node.build_here, self.config.docker, plan, self._urls),
                                      cancel)
            if not answers:  # it died meanwhile
                continue
            if not answers[0].get("unpushable"):
                return answers
            # Not marked unable to pull: pushing may need rights that pulling does not; its pull decides.
            say(f"node {n['address']} ({n['id'][:12]}) could not push: {answers[0]['tail'][-1]}")
            could_not += answers
        return could_not

    def _cannot_reach(self, nodes: list[dict], say: Callable[[str], None], cancel) -> dict[str, str]:
        """Node id -> why its engine cannot reach the registry: asked of every node once per run,
        before the first build (a node that joins later is taken to reach it; its pull says if not)."""
        with self._probe_lock:
            if self._unreachable is None:
                answers, _ = self._gather(nodes, self._on_each(nodes, node.reach_here, self.config.docker.registry),
                                          cancel)
                self._unreachable = {a["node"]["id"]: a["why"] for a in answers if a["why"]}
                for a in answers:
                    if a["why"]:
                        say(f"node {a['node']['address']} ({a['node']['id'][:12]}): {a['why']}")
            return self._unreachable

    def _pull_everywhere(self, variant: str, built: dict, others: list[dict], into: dict, say, cancel) -> str:
        """The pushed image pulled by digest on the other nodes, at once, and given the variant's tag there
        (node.pull_here); a node that cannot pull it runs none of the variant's units. What the log line adds."""
        ref = built["ref"]
        self._refs[variant] = ref
        say(f"pushed {ref}; pulling it on {len(others)} node(s)")
        pulled, _ = self._gather(others, self._on_each(others, node.pull_here, ref, built["tag"]), cancel)
        for p in pulled:
            if "error" in p:
                with self._lock:
                    self._unpullable.setdefault(variant, {})[p["node"]["id"]] = p["error"]
                into[p["node"]["id"]] = {"address": p["node"]["address"], "error": p["error"]}
            else:
                into[p["node"]["id"]] = {"address": p["node"]["address"], "id": p["id"], "pulled_bytes": p["bytes"]}
        bad = sum("error" in p for p in pulled)
        return f", pushed, pulled by digest on {len(pulled) - bad} node(s)" + (
            f" ({bad} could not pull it: {next(p['error'] for p in pulled if 'error' in p)})" if bad else "")

    def start(self, prepared: Prepared, spec_path: str, run_dir: Path, log_path: Path, run_id: str = ""):
        spec_name = spec_path.rsplit("/", 1)[-1]
        spec = json.loads((run_dir / "specs" / spec_name).read_text())
        gpu_type = spec["cases"][0].get("gpu_type") or ""  # a unit's cases share their lane
        return self._launch(prepared.variant, gpu_type, run_dir, log_path, node.run_here, spec=spec,
                            spec_name=spec_name, run_id=run_id, task=f"{run_id}/{spec_name}")

    def start_runner(self, prepared: Prepared, args: list[str], run_dir: Path, log_path: Path, run_id: str = ""):
        """The check before measuring, on a node of the run's first GPU type that has a live one, in a
        container started as the measuring runners are; the verdict it writes comes back into specs/."""
        gpu_type = next((lane for lane in self._lanes if self.of_type(lane)), self._lanes[0] if self._lanes else "")
        back = tuple(args[args.index("--out") + 1].rsplit("/", 1)[-1:]) if "--out" in args else ()
        return self._launch(prepared.variant, gpu_type, run_dir, log_path, node.runner_here, args=args, specs={},
                            run_id=run_id, task=f"{run_id}/start-check/{slugify(prepared.variant)}", back=back)

    def _launch(self, variant: str, gpu_type: str, run_dir: Path, log_path: Path, fn, **kwargs):
        """fn(config, plan, urls, ref=the image's registry reference, **kwargs) as a streaming task that
        asks for one GPU of the type, on a node that can have the variant's image."""
        self._run_ids.add(kwargs["run_id"])
        ref = self._refs.get(variant)
        live = self.of_type(gpu_type)
        if not live:  # its last node died: Ray would keep the task pending for ever
            return _Gone(log_path, f"no live node of GPU type {gpu_type} is left in the cluster")
        with self._lock:
            bad = dict(self._unpullable.get(variant, {}))
        pinned, why = placement(live, bad, gpu_type, self._next())
        if why:
            return _Gone(log_path, why, reason=why)
        options = dict(num_cpus=0, num_gpus=1, resources={node.GPU_TYPE_PREFIX + gpu_type: 0.001},
                       max_retries=0, num_returns="streaming")  # retries are the driver's: records must not repeat
        if pinned:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(pinned, soft=False)
        stream = self.ray.remote(fn).options(**options).remote(self.config.docker, self._plans[variant], self._urls,
                                                               ref=ref, **kwargs)

        def unpullable(node_id: str, why: str) -> None:
            with self._lock:
                self._unpullable.setdefault(variant, {})[node_id] = why

        return RayProcess(self.ray, stream, run_dir, log_path, gpu_type, lambda: bool(self.of_type(gpu_type)),
                          unpullable)

    def lost(self, exc: BaseException) -> str | None:
        if is_lost(exc):
            return f"a Ray node went away ({type(exc).__name__})"
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the cluster may be gone: the next run's start reaps
            self._reap(tuple(self._run_ids))
        with contextlib.suppress(Exception):
            self.ray.shutdown()
