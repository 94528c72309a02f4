"""Imports flow one way: domain <- services <- api / cli / web; storage never reaches up.

The adapters (api, cli, web, reports) reach the training stack only through
services; the web console never imports the API that hosts it; the API knows
nothing of SQL and the domain nothing of HTTP or SQL.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "resonance"

FORBIDDEN = {
    "domain": ("services", "storage", "api", "cli", "web", "reports", "training"),
    "services": ("api", "cli", "web", "flower"),
    "storage": ("services", "api", "cli", "web"),
    # the API and the console are peers: they meet only in resonance.server
    "api": ("cli", "web", "training", "storage"),
    "cli": ("api", "web", "training", "storage"),
    "web": ("api", "cli", "training", "storage"),
    "reports": ("api", "cli", "web", "training", "storage"),
    "jobs": ("api", "cli", "web", "training", "storage"),
    # Flower's entry points (deployment mode) are an adapter: they use services and training
    "flower": ("api", "cli", "web", "storage"),
}

# third-party packages a layer must not import
FORBIDDEN_EXTERNAL = {
    "domain": ("fastapi", "starlette", "httpx", "requests", "sqlalchemy", "typer"),
    "api": ("sqlalchemy",),
    "web": ("sqlalchemy",),
    "cli": ("sqlalchemy",),
    "jobs": ("sqlalchemy",),
    "flower": ("sqlalchemy",),
}


def module_name(path: Path) -> str:
    """Dotted name of a file under ``src/resonance``."""
    parts = ["resonance", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, *, package: str) -> set[str]:
    """Every module ``source`` imports, anywhere in it, relative imports resolved.

    ``package`` is the package the source lives in. ``from X import y`` yields
    both ``X`` and ``X.y`` (``y`` may be a submodule).
    """
    parts = package.split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imported_modules(path.read_text(), package=package)


def violations(layer: str) -> list[str]:
    banned = tuple(f"resonance.{name}" for name in FORBIDDEN[layer])
    banned += FORBIDDEN_EXTERNAL.get(layer, ())
    out = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for module in sorted(imports_of(path)):
            if module in banned or module.startswith(tuple(b + "." for b in banned)):
                out.append(f"{path.relative_to(SRC)} imports {module}")
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downward(layer: str) -> None:
    assert list((SRC / layer).rglob("*.py")), f"no modules found under {layer}"
    assert violations(layer) == []


def test_the_checker_sees_relative_lazy_and_aliased_imports() -> None:
    source = (
        "import resonance.cli.app as cli_app\n"
        "from ..storage import artifacts\n"
        "from .. import services\n"
        "from . import datasets\n"
        "def later():\n"
        "    from resonance.training import trainers\n"
    )
    found = imported_modules(source, package="resonance.domain")
    assert {
        "resonance.cli.app",
        "resonance.storage.artifacts",
        "resonance.services",
        "resonance.domain.datasets",
        "resonance.training.trainers",
    } <= found


def test_the_foundation_layers_use_what_they_may() -> None:
    # Sanity: the walk really reads imports (services do use storage and domain).
    catalog = imports_of(SRC / "services" / "catalog.py")
    assert "resonance.domain.datasets" in catalog and "resonance.storage.store" in catalog


def test_the_console_pages_do_not_import_the_console_app() -> None:
    # web/app.py mounts web/pages.py; the other way round would be a file cycle
    assert not {
        m for m in imports_of(SRC / "web" / "pages.py") if m.startswith("resonance.web.app")
    }


def test_the_checker_flags_a_forbidden_third_party_import() -> None:
    found = imported_modules("from sqlalchemy.exc import IntegrityError\n", package="resonance.api")
    assert "sqlalchemy.exc" in found
    assert "sqlalchemy.exc".startswith(tuple(f"{b}." for b in FORBIDDEN_EXTERNAL["api"]))


def test_the_architecture_page_names_every_package() -> None:
    page = (SRC.parents[1] / "docs" / "ARCHITECTURE.md").read_text()
    packages = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").exists())
    assert [p for p in packages if f"`{p}`" not in page] == []
    assert set(FORBIDDEN) <= set(packages)


def test_domain_errors_carry_no_http_status() -> None:
    """The error catalog says what kind of failure an error is; only the API maps kinds to HTTP
    statuses (``api/errors.HTTP_STATUS``), and it maps every kind."""
    from dataclasses import fields

    from resonance.api.errors import HTTP_STATUS
    from resonance.domain.errors import ERROR_CATALOG, ErrorSpec, Kind

    assert [f.name for f in fields(ErrorSpec)] == ["code", "kind", "summary"]
    assert all(isinstance(spec.kind, Kind) for spec in ERROR_CATALOG.values())
    assert set(HTTP_STATUS) == set(Kind)
    source = (SRC / "domain" / "errors.py").read_text()
    assert "http" not in source.lower()
