"""The layout's promises, checked from the source: the library imports no
Prefect, and imports run one way (deployments -> flows -> tasks -> library;
inside the library source -> parse -> load -> detect -> show)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# Where each import name's source lives in the repository (pyproject's package-dir).
PACKAGE_DIRS = {"netsift.flows": ROOT / "flows", "netsift.tasks": ROOT / "tasks",
                "netsift.deployments": ROOT / "deployments"}  # fmt: skip
# Library layers, lowest first: a module imports from its own package or a lower layer.
LIBRARY_LAYERS = [
    {"netsift", "netsift.settings", "netsift.db", "netsift.schema", "netsift.escape"},
    {"netsift.ingest", "netsift.preflight"},
    {"netsift.cloudfront", "netsift.capture"},
    {"netsift.detection"},
    {"netsift.analyst"},
    {"netsift.console"},
]
ORCHESTRATION = ["netsift.tasks", "netsift.flows", "netsift.deployments"]
# The one library module that talks to Prefect: `netsift status` reads the
# last flow runs from Prefect's API (imported inside that one function).
PREFECT_IN_LIBRARY = {"netsift.analyst.status"}


def modules():
    for path in sorted((ROOT / "netsift").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(p for p in parts if p != "__init__"), path
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            name = path.relative_to(folder).with_suffix("").parts
            yield ".".join([package, *[p for p in name if p != "__init__"]]), path


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def layer_of(module: str) -> tuple[str, int] | None:
    for rank, layer in enumerate(LIBRARY_LAYERS[1:], 1):
        for package in layer:
            if module == package or module.startswith(package + "."):
                return package, rank
    if module.split(".")[0] == "netsift" and not any(module.startswith(o) for o in ORCHESTRATION):
        return "netsift", 0
    return None


def test_the_library_imports_no_prefect_and_nothing_above_it():
    wrong = []
    for module, path in modules():
        if any(module.startswith(o) for o in ORCHESTRATION):
            continue
        package, rank = layer_of(module)
        if module == "netsift":  # the package's front door: `netsift.read(...)` for notebooks
            rank = len(LIBRARY_LAYERS)
        for imported in imports_of(path):
            if imported.split(".")[0] == "prefect" and module not in PREFECT_IN_LIBRARY:
                wrong.append(f"{module} imports {imported}")
            if any(imported.startswith(o) for o in ORCHESTRATION):
                wrong.append(f"{module} imports {imported}")
            target = layer_of(imported)
            if target and target[0] != package and target[1] >= rank and target[0] != "netsift":
                wrong.append(f"{module} ({package}) imports {imported} ({target[0]})")
    assert not wrong, "\n".join(wrong)


def test_orchestration_imports_run_one_way():
    wrong = []
    for module, path in modules():
        for rank, layer in enumerate(ORCHESTRATION):
            if module.startswith(layer):
                above = ORCHESTRATION[rank + 1:]
                wrong += [f"{module} imports {i}" for i in imports_of(path) if any(i.startswith(a) for a in above)]
    assert not wrong, "\n".join(wrong)


def test_no_module_grows_past_about_400_lines():
    long = [f"{m}: {n}" for m, p in modules() if (n := len(p.read_text().splitlines())) > 420]
    assert not long, long
