"""A fresh machine has only what requirements.txt declares: every third-party import must be named there."""

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"app", "pages", "resnet_core"}


def _app_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").rglob("*.py")),
            *sorted((ROOT / "resnet_core").rglob("*.py"))]


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path``, at any depth (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _declared(requirements: Path) -> set[str]:
    """Distribution names in a requirements file (comments, options and markers ignored)."""
    names = set()
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(_normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group(0)))
    return names


def undeclared_imports(files: list[Path], requirements: Path) -> list[str]:
    """'file: module' for every third-party module imported by ``files`` and not declared in ``requirements``."""
    declared = _declared(requirements)
    distributions = packages_distributions()
    problems = []
    for path in files:
        for module in sorted(_imported_modules(path) - LOCAL - set(sys.stdlib_module_names)):
            owners = {_normalise(d) for d in distributions.get(module, [])}
            if not owners & declared:
                source = ", ".join(sorted(owners)) or "nothing installed"
                problems.append(f"{path.relative_to(ROOT)}: {module} (from {source})")
    return problems


def test_every_third_party_import_of_the_app_is_declared_in_requirements_txt():
    assert undeclared_imports(_app_files(), ROOT / "requirements.txt") == []


def test_the_check_names_an_undeclared_module(tmp_path):
    source = tmp_path / "page.py"
    source.write_text("import os\nimport numpy\n\ndef later():\n    import orjson\n    from PIL import Image\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# runtime\nnumpy>=1.26  # arrays\n-r other.txt\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        problems = undeclared_imports([source], requirements)
    finally:
        ROOT = saved
    assert [p.split(" (")[0] for p in problems] == ["page.py: PIL", "page.py: orjson"]


def test_the_engine_never_imports_streamlit():
    # A fresh interpreter imports every module of resnet_core (found on disk, so a new one is never missed).
    code = (
        "import pkgutil, sys, importlib, resnet_core\n"
        "names = [m.name for m in pkgutil.iter_modules(resnet_core.__path__) if m.name != '__main__']\n"
        "for name in names: importlib.import_module('resnet_core.' + name)\n"
        "print(len(names), 'streamlit' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    engine = [p for p in (ROOT / "resnet_core").glob("*.py") if p.stem not in ("__init__", "__main__")]
    assert result.stdout.split() == [str(len(engine)), "False"]
