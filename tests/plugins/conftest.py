"""Load a role's filter plugin file as a module (roles/<role>/filter_plugins/<name>.py)."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_filter(role: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "roles" / role / "filter_plugins" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
