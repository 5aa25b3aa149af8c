"""Modules that load on first use.

`import app` must stay cheap (DESIGN §9: at most 1.5x a bare Chalice app plus boto3): the
queue consumers, stream publisher and schedules import `app` but never touch pydantic or
the services behind the routes, so the route modules reach those through lazy modules."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """Return module `name`, executed on its first attribute access rather than now."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
