"""Security properties a classroom server relies on, checked on the source and the config."""

import ast
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("resnet_core", "pages", "benchmarks") for p in (ROOT / folder).rglob("*.py")] + [
    ROOT / "app.py"
]


def _calls(name: str):
    """Every call ``<something>.<name>(...)`` or ``<name>(...)`` in the project's sources."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path, node


def test_every_torch_load_uses_weights_only():
    loads = list(_calls("load"))
    torch_loads = [(p, n) for p, n in loads if isinstance(n.func, ast.Attribute) and getattr(
        n.func.value, "id", None) == "torch"]
    assert torch_loads, "expected the engine to load checkpoints somewhere"
    for path, node in torch_loads:
        flags = {k.arg: k.value for k in node.keywords}
        assert "weights_only" in flags, f"{path}:{node.lineno} torch.load without weights_only"
        assert isinstance(flags["weights_only"], ast.Constant) and flags["weights_only"].value is True


def test_no_unsafe_html_and_no_code_execution():
    for path in SOURCES:
        text = path.read_text()
        assert "unsafe_allow_html=True" not in text, path
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("eval", "exec", "compile"):
                raise AssertionError(f"{path}:{node.lineno} calls {node.func.id}")


def test_streamlit_config_is_set_for_serving_a_class():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["headless"] is True
    assert config["server"]["maxUploadSize"] == 20
    assert config["server"]["fileWatcherType"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    # no full garbage collection after every (fragment) run: it holds the GIL for about 0.25 s
    assert config["runner"]["postScriptGC"] is False
