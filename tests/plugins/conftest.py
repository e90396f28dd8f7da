"""Load a plugin file as a module: a role's filter plugin (roles/<role>/filter_plugins/<name>.py) or any path."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_filter(role: str, name: str) -> ModuleType:
    return load_module(ROOT / "roles" / role / "filter_plugins" / f"{name}.py")
