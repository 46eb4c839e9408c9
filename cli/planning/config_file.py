"""Config files (`vercompare.toml`): a matrix written down once, run with `--config FILE`.

Pure: TOML text -> a ConfigFile (the request fields and settings it names), then merged with what
was typed on the command line (an option given explicitly wins over the file). Every refusal is one
BadInput line naming the file and the key, raised before anything is built.

    [variants.old]                 # named variants: the name is the variant's name everywhere
    torch = "2.0"                  # (results, reports, run.json); keys as for --variant
    diffusers = "0.17.1"
    [variants.new]
    torch = "nightly"

    [versions]                     # or, instead of [variants.*], the product of version axes
    torch = ["2.0", "nightly"]
    diffusers = "latest"

    [matrix]                       # what is measured; each key is the run option of that name
    pipeline = ["sd-txt2img", "sdxl-txt2img"]
    batch_size = [1, 4, 16]
    compile = "both"
    fullgraph = true

    [build]                        # how images are built; relative paths are relative to the file
    base_image = "python:{python}-slim-bookworm"
    wheelhouse = "wheels"

    [run]                          # how cases run
    gpus = "all"
    case_timeout = 600
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from vercompare.errors import BadInput
from vercompare.planning import request as request_mod
from vercompare.planning import thresholds as thresholds_mod
from vercompare.planning.request import VARIANT_NAME, RunRequest, expand_both
from vercompare.planning.settings import Settings
from vercompare.planning.thresholds import Thresholds
from vercompare_runner.vocabulary import BOTH

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the tomli backport (a dependency there)
    import tomli as tomllib  # type: ignore[no-redef]

# A value's kind, from its dataclass field's type: str, strs (a string or a list of them), int,
# ints, bool, number, path (a string, relative to the file's folder).
_KINDS = {"tuple[str, ...]": "strs", "tuple[int, ...]": "ints", "int": "int", "int | None": "int", "bool": "bool",
          "bool | None": "bool", "str": "str", "str | None": "str", "float | None": "number"}


def _keys(cls, section: str) -> dict[str, str]:
    return {f.name: ("paths" if _KINDS[f.type] == "strs" else "path") if f.metadata.get("path") else _KINDS[f.type]
            for f in dataclasses.fields(cls) if f.metadata.get("section") == section and not f.metadata.get("hidden")}


VERSION_KEYS = tuple(k for k in request_mod.field_names("versions") if k != "variant")
# Version axes that may hold several values ([versions]); the others take one value for all variants.
AXES = tuple(k for k, kind in _keys(RunRequest, "versions").items() if kind == "strs" and k != "variant")
MATRIX_KEYS = _keys(RunRequest, "matrix")
BUILD_KEYS = _keys(Settings, "build")
RUN_KEYS = _keys(Settings, "run")
GATE_KEYS = _keys(Thresholds, "gate")
SECTIONS = ("variants", "versions", "matrix", "build", "run", "gate")
# Other spellings people write for a key (the option's singular, a plural).
ALIASES = {"compile_module": "compile_modules", "batch_sizes": "batch_size", "pipelines": "pipeline",
           "extra_index_url": "extra_index_urls", "constraint": "constraints"}


@dataclass(frozen=True)
class ConfigFile:
    """What a config file sets: RunRequest fields (already in the request's form) and Settings fields."""

    source: str
    request: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    gate: dict = field(default_factory=dict)  # Thresholds fields


def _bad(source: str, key: str, problem: str, hint: str | None = None) -> BadInput:
    return BadInput(f"{source}: {key}: {problem}", hint=hint)


def _describe(value) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, (dict, list)) else ""
    return f"{kind} {shown}".strip()


def _value(source: str, key: str, kind: str, value):
    """Check one value's type; return it in the request's form (tuples for lists)."""
    def want(what: str, hint: str | None = None):
        return _bad(source, key, f"expected {what}, got {_describe(value)}", hint)

    if kind in ("str", "path"):
        if not isinstance(value, str) or not value.strip():
            raise want("a non-empty string")
        return value.strip()
    if kind in ("strs", "paths"):
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v.strip() for v in items):
            raise want("a string or a list of strings")
        return tuple(v.strip() for v in items)
    if kind in ("int", "ints"):
        items = value if isinstance(value, list) and kind == "ints" else [value]
        # bool is an int in Python; `batch_size = true` is a mistake, not 1
        if not items or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise want("an integer" if kind == "int" else "an integer or a list of integers")
        return tuple(items) if kind == "ints" else items[0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise want("true or false")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise want("a number")
        return float(value)
    raise AssertionError(kind)


def _version(source: str, key: str, value, many: bool) -> tuple[str, ...]:
    items = value if isinstance(value, list) and many else [value]
    for item in items:
        if isinstance(item, float):
            # TOML reads 2.10 as the float 2.1: a version must be a string to mean what it says
            raise _bad(source, key, f"expected a string, got the number {item!r}",
                       hint=f'quote versions: {key.rsplit(".", 1)[-1]} = "{item}"')
        if not isinstance(item, str) or not item.strip() or "," in item:
            raise _bad(source, key, f"expected {'a version string or a list of them' if many else 'a version string'}"
                                    f", got {_describe(item)}")
    if not items:
        raise _bad(source, key, "expected at least one version")
    return tuple(i.strip() for i in items)


def _table(source: str, key: str, value) -> dict:
    if not isinstance(value, dict):
        raise _bad(source, key, f"expected a table ([{key}]), got {_describe(value)}")
    return value


def _unknown(source: str, where: str, key: str, known) -> BadInput:
    name = f"{where}.{key}" if where else key
    return _bad(source, name, "unknown key", hint="known: " + ", ".join(known))


def parse(text: str, source: str = "vercompare.toml", base_dir: Path | None = None) -> ConfigFile:
    """TOML text -> ConfigFile. base_dir: where relative paths in [build]/[run] are relative to."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{source}: not valid TOML ({exc})") from None
    base_dir = base_dir or Path(".")
    request: dict = {}
    settings: dict = {}
    for key in data:
        if key not in SECTIONS:
            raise _unknown(source, "", key, SECTIONS)

    if "variants" in data and "versions" in data:
        raise BadInput(f"{source}: [variants.*] and [versions] both given",
                       hint="name each variant under [variants.NAME], or give version axes under [versions], not both")
    variants = _table(source, "variants", data.get("variants", {}))
    texts = []
    for name, spec in variants.items():
        if not VARIANT_NAME.match(name):
            raise _bad(source, f"variants.{name}", "a variant name is letters, digits, '.', '_' or '-' "
                                                   "(at most 64, starting with a letter or digit)")
        spec = _table(source, f"variants.{name}", spec)
        parts = [f"name={name}"]
        for key, value in spec.items():
            if isinstance(value, dict):  # [variants.a.b]: TOML splits a dotted name
                raise _bad(source, f"variants.{name}.{key}", "a table inside a variant",
                           hint=f'quote a name that has a dot: [variants."{name}.{key}"]')
            if key.replace("-", "_") not in VERSION_KEYS:
                raise _unknown(source, f"variants.{name}", key, VERSION_KEYS)
            (version,) = _version(source, f"variants.{name}.{key}", value, many=False)
            parts.append(f"{key.replace('-', '_')}={version}")
        texts.append(",".join(parts))
    if "variants" in data and not texts:
        raise _bad(source, "variants", "no variants in it", hint="add [variants.NAME] tables with torch = ... lines")
    if texts:
        request["variant"] = tuple(texts)

    versions = _table(source, "versions", data.get("versions", {}))
    for key, value in versions.items():
        k = key.replace("-", "_")
        if k not in VERSION_KEYS:
            raise _unknown(source, "versions", key, VERSION_KEYS)
        values = _version(source, f"versions.{key}", value, many=k in AXES)
        request[k] = values if k in AXES else values[0]

    matrix = _table(source, "matrix", data.get("matrix", {}))
    for key, value in matrix.items():
        k = key.replace("-", "_")
        k = ALIASES.get(k, k)
        if k not in MATRIX_KEYS:
            raise _unknown(source, "matrix", key, MATRIX_KEYS)
        v = _value(source, f"matrix.{key}", MATRIX_KEYS[k], value)
        request[k] = expand_both(v, BOTH[k]) if k in BOTH else v

    gate: dict = {}
    for section, known, into in (("build", BUILD_KEYS, settings), ("run", RUN_KEYS, settings), ("gate", GATE_KEYS, gate)):
        table = _table(source, section, data.get(section, {}))
        for key, value in table.items():
            k = ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
            if k not in known:
                raise _unknown(source, section, key, known)
            v = _value(source, f"{section}.{key}", known[k], value)
            if known[k] in ("path", "paths"):
                paths = [Path(p).expanduser() for p in ((v,) if known[k] == "path" else v)]
                paths = [str(p if p.is_absolute() else base_dir / p) for p in paths]
                v = paths[0] if known[k] == "path" else tuple(paths)
            into[k] = v
    config = ConfigFile(source, request, settings, gate)
    try:
        thresholds_mod.validate(Thresholds(**gate))
    except BadInput as exc:
        raise BadInput(f"{source}: gate: {exc.message}", hint=exc.hint) from None
    return config


def load(path: Path) -> ConfigFile:
    """Read and parse a config file (the one side effect here: reading it)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BadInput(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"--config {path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    config = parse(text, source=str(path), base_dir=path.resolve().parent)
    check(config)
    return config


def check(config: ConfigFile) -> None:
    """The file's values on their own must make a valid matrix; errors then name the file."""
    from vercompare.planning.plan import plan_variants

    req = merge(config, RunRequest(), explicit=())
    try:
        plan_variants(request_mod.variants(req), device=req.device)
        request_mod.cases(req)
    except BadInput as exc:
        raise BadInput(f"{config.source}: {exc.message}", hint=exc.hint) from None


def merge(config: ConfigFile, cli: RunRequest, explicit) -> RunRequest:
    """The request to run: the file's values, except where an option was given on the command line.

    Version options typed on the command line (--torch, --diffusers, --variant) replace the file's
    variants; --python, --cuda, --transformers, --huggingface-hub apply to every named variant.
    explicit: the names of the RunRequest fields given on the command line.
    """
    explicit = set(explicit)
    values = {f.name: getattr(cli, f.name) for f in dataclasses.fields(RunRequest)}
    file_values = dict(config.request)
    if explicit & {"torch", "diffusers", "variant"}:
        for key in ("variant", "torch", "diffusers"):
            file_values.pop(key, None)
    for key, value in file_values.items():
        if key == "variant":
            overrides = {k: values[k] for k in ("transformers", "huggingface_hub", "python", "cuda")
                         if k in explicit and values[k] is not None}
            value = tuple(_override_variant(text, overrides) for text in value)
            values["torch"], values["diffusers"] = RunRequest.torch, RunRequest.diffusers
        elif key in explicit:
            continue
        values[key] = value
    if "weights" not in explicit and "weights" not in file_values:
        values["weights"] = None  # follows the device (perhaps the file's), as the option's default does
    return RunRequest(**values)


def _override_variant(text: str, overrides: dict) -> str:
    parts = dict(item.split("=", 1) for item in text.split(","))
    parts.update(overrides)
    return ",".join(f"{k}={v}" for k, v in parts.items())


def merge_settings(config: ConfigFile, settings: Settings, explicit) -> Settings:
    """Settings with the file's values where no option was given."""
    changes = {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in config.settings.items()
               if k not in set(explicit)}
    return dataclasses.replace(settings, **changes)


def apply(path: Path, explicit, request: RunRequest, settings: Settings, thresholds: Thresholds):
    """`--config FILE` on run and plan: the file's request, settings and gate under the options
    typed. explicit: the names of the options given on the command line (= field names)."""
    config = load(Path(path))
    gate = dataclasses.replace(thresholds, **{k: v for k, v in config.gate.items() if k not in set(explicit)})
    return merge(config, request, explicit), merge_settings(config, settings, explicit), gate


DEFAULT_NAME = "vercompare.toml"


def found_here() -> Path | None:
    """./vercompare.toml when there is one: `run` and `plan` read it when no --config is given."""
    path = Path(DEFAULT_NAME)
    return path if path.is_file() else None
