"""The import direction is the architecture (docs/architecture.md): a module may import
only the packages its layer allows. Read with ``ast``, lazy imports inside functions
included, so a wrong-way import fails here the day it is written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("daemon", "connectors")

# Each layer, and what it may import of cadenced (prefixes; its own package is allowed).
LAYERS: dict[str, tuple[str, ...]] = {
    "daemon.core": ("daemon.config",),
    "daemon.config": ("daemon.core.errors",),
    "daemon.state": ("daemon.core", "daemon.config", "connectors.base"),
    "daemon.render": ("daemon.core", "daemon.config"),
    "daemon.service": ("daemon.core", "daemon.config", "daemon.state", "daemon.render",
                       "connectors.base", "connectors.registry"),
    "daemon.cli": ("daemon", "connectors.base", "connectors.registry"),
    # `cadenced auth KIND`: each kind's sign-in is its own connector's module.
    "daemon.cli.auth": ("daemon", "connectors.base", "connectors.registry",
                        "connectors.google.auth", "connectors.microsoft.signin",
                        "connectors.microsoft.token"),
    "daemon.__main__": ("daemon.cli",),
    "connectors.base": ("daemon.core",),
    "connectors.registry": ("connectors", "daemon.core", "daemon.config", "daemon.state"),
}
# A connector: its own folder, the contracts, the core, its config section, and the one
# atomic private-file writer (daemon.state.files) for its caches and tokens.
CONNECTOR = ("connectors.base", "daemon.core", "daemon.config", "daemon.state.files")
# CalDAV resources are iCalendar: read by the ICS engine's public parser, so the same
# calendar as ICS or CalDAV gives equal events.
LAYERS["connectors.caldav"] = ("connectors.base", "daemon.core", "daemon.config",
                               "daemon.state.files", "connectors.ics.parse")
# `cadenced auth caldav` tests the login through the CalDAV connector's server module.
LAYERS["daemon.cli.auth"] = (*LAYERS["daemon.cli.auth"], "connectors.caldav.server")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every cadenced module ``path`` imports, by absolute name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from daemon.state import paths` imports the module daemon.state.paths
            found |= {f"{module}.{alias.name}" for alias in node.names
                      if _is_module(f"{module}.{alias.name}")}
    return {name for name in found if name.split(".")[0] in OURS}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def allowed(module: str) -> tuple[str, ...]:
    for layer, may in sorted(LAYERS.items(), key=lambda item: -len(item[0])):
        if module == layer or module.startswith(layer + "."):
            return (layer, *may)
    if module.startswith("connectors."):
        own = ".".join(module.split(".")[:2])
        return (own, *CONNECTOR)
    if module in OURS:  # the top-level packages' docstrings
        return ()
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path = ROOT) -> list[str]:
    wrong = []
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(path)
            may = allowed(module)
            for name in sorted(imports(path)):
                # A package's own __init__ (``from daemon.state import x``) resolves to
                # the package itself, which every layer below it may name.
                if name in ("daemon", "connectors") or within(name, may):
                    continue
                wrong.append(f"{module} imports {name}")
    return wrong


def test_every_import_runs_the_way_the_layers_allow():
    assert violations() == []


@pytest.mark.parametrize(("where", "line"), [
    ("daemon/core/_wrong_way.py", "from daemon.service.sync import Syncer\n"),
    ("daemon/core/_wrong_way.py", "def lazy():\n    import connectors.ics.fetch\n"),
    ("connectors/ics/_wrong_way.py", "from daemon.service.logs import setup_logging\n"),
    ("daemon/render/_wrong_way.py", "from ..state.store import Store\n"),
])
def test_a_wrong_way_import_is_caught(where: str, line: str):
    path = ROOT / where
    path.write_text(line, encoding="utf-8")
    try:
        wrong = violations()
    finally:
        path.unlink()
    assert any(w.startswith(module_name(path) + " imports ") for w in wrong), wrong
