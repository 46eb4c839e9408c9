"""The layout's rules, checked on the source: nothing outside cli/backends/ names a backend; the
vocabulary is declared once (runner/vocabulary.py) and imported everywhere else; images/ imports
nothing above itself. A new module that breaks a rule fails here with its file and line."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vercompare import backends
from vercompare_runner import vocabulary

from cli import REPO

HOST = REPO / "cli"


def sources(*roots: Path):
    for root in roots:
        yield from sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def string_constants(tree: ast.AST):
    """(node, value) of every str constant that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node, node.value


def imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module
            for alias in node.names:
                yield node, f"{node.module}.{alias.name}"


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(REPO)}:{node.lineno}"


def test_no_module_outside_backends_names_a_backend():
    names = set(backends.NAMES)
    offences = []
    for path in sources(HOST):
        if (HOST / "backends") in path.parents:
            continue
        tree = ast.parse(path.read_text())
        offences += [f"{where(path, n)}: the string {v!r}" for n, v in string_constants(tree) if v in names]
        offences += [f"{where(path, n)}: imports {m}" for n, m in imported_modules(tree)
                     if m.startswith("vercompare.backends.") and m.split(".")[2] in names]
    assert not offences, "\n".join(offences)


VOCABULARY = {
    "pipelines": set(vocabulary.PIPELINES), "statuses": set(vocabulary.STATUSES), "phases": set(vocabulary.PHASES),
    "dtypes": set(vocabulary.DTYPES), "compile modes": set(vocabulary.COMPILE_MODES),
    "attention kinds": set(vocabulary.ATTENTIONS), "weights kinds": set(vocabulary.WEIGHTS),
    "packages": set(vocabulary.PACKAGES),
}
METRICS = {value for name, value in vars(vocabulary).items() if name.isupper() and isinstance(value, str)
           and value not in vocabulary.STATUSES}


def _strings(nodes) -> bool:
    return all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in nodes)


def literal_collections(tree: ast.AST):
    """(node, set of strings) of every tuple, list or set literal made only of strings, and of the
    keys of every str -> str dict literal (a table of names, like labels). A dict keyed by names
    with other values (sizes per weights kind) uses the vocabulary; it does not declare it."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict) and None not in node.keys and _strings(node.values):
            items = node.keys
        else:
            continue
        if len(items) >= 2 and _strings(items):
            yield node, {i.value for i in items}


def test_the_vocabulary_is_declared_once():
    own = REPO / "runner" / "vocabulary.py"
    offences = []
    for path in sources(HOST, REPO / "images", REPO / "runner", REPO / "tests", REPO / "benchmarks"):
        if path == own:
            continue
        tree = ast.parse(path.read_text())
        for node, values in literal_collections(tree):
            for what, names in VOCABULARY.items():
                # the whole list again (or most of it, with an extra or two): a second declaration
                if len(values & names) >= max(3, len(names) - 1):
                    offences.append(f"{where(path, node)}: declares the {what} again ({sorted(values)})")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("root", ["cli", "images"])
def test_the_host_writes_no_metric_name_by_hand(root):
    offences = []
    for path in sources(REPO / root):
        for node, value in string_constants(ast.parse(path.read_text())):
            if value in METRICS:
                offences.append(f"{where(path, node)}: {value!r} (import it from vercompare_runner.vocabulary)")
    assert not offences, "\n".join(offences)


def test_images_import_nothing_above_themselves():
    """images/ (package vercompare.images) may use the leaf module vercompare.errors and the runner's
    contract; never planning, execution, backends or commands (which import images)."""
    offences = []
    for path in sources(REPO / "images"):
        for node, module in imported_modules(ast.parse(path.read_text())):
            if module.startswith("vercompare.") and not module.startswith(("vercompare.images", "vercompare.errors")):
                offences.append(f"{where(path, node)}: imports {module}")
    assert not offences, "\n".join(offences)


def test_commands_hold_no_logic():
    """cli/commands/ modules define only commands and their registration (plus the option table)."""
    offences = []
    for path in sources(HOST / "commands"):
        if path.name == "options.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
                offences.append(f"{where(path, node)}: helper {node.name} (logic belongs in a package)")
    assert not offences, "\n".join(offences)


def test_ray_is_imported_by_its_backend_only():
    """Ray is optional (vercompare[ray]): the app, the steps and the other backends never import it."""
    import subprocess
    import sys

    code = ("import sys, vercompare.app, vercompare.execution.steps, vercompare.backends.docker.backend, "
            "vercompare.backends.venv.backend, vercompare.backends.local.backend; "
            "sys.exit('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_report_starts_without_the_other_commands():
    """`vercompare report` imports and registers report's module only (a tenth of a second of a big
    report's start): not run's options, the planning package or Docker's image definitions."""
    import subprocess
    import sys

    code = ("import sys\nfrom vercompare.app import main\ntry:\n    main(['report', 'no-such-run'])\n"
            "except SystemExit as exc:\n    assert exc.code == 2, exc.code\n"
            "sys.exit(sorted(m for m in ('vercompare.commands.run', 'vercompare.planning.request', "
            "'vercompare.images.definition') if m in sys.modules) or 0)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("command", ["report", "diff"])
def test_report_and_diff_alone_show_the_help_they_show_among_every_command(command):
    from typer.testing import CliRunner

    from vercompare.app import make_app

    alone = CliRunner().invoke(make_app(command), [command, "--help"], prog_name="vercompare", terminal_width=100)
    among = CliRunner().invoke(make_app(), [command, "--help"], prog_name="vercompare", terminal_width=100)
    assert alone.exit_code == among.exit_code == 0
    assert alone.output == among.output and "--format" in alone.output
