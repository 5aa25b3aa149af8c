"""Modules that load on first use.

`import app` must stay cheap (DESIGN §9: at most 1.5x a bare Chalice app plus boto3): the
queue consumers, stream publisher and schedules import `app` but never touch pydantic or
the services behind the routes, so the route modules reach those through lazy modules.

Thread-safe: `chalice local` serves requests on threads, and Python 3.11's
`importlib.util.LazyLoader` lets a second thread see a half-executed module (an
AttributeError, i.e. a 500, on the first concurrent requests). Here the first attribute
access runs a normal `import_module`, which holds the module's import lock until it is done."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands in for a module until its first attribute access, then delegates to it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        object.__setattr__(self, "_waybill_lock", threading.Lock())
        object.__setattr__(self, "_waybill_module", None)

    def _load(self) -> ModuleType:
        module = object.__getattribute__(self, "_waybill_module")
        if module is None:
            with object.__getattribute__(self, "_waybill_lock"):
                module = object.__getattribute__(self, "_waybill_module")
                if module is None:
                    module = importlib.import_module(self.__name__)
                    object.__setattr__(self, "_waybill_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)


def lazy_module(name: str) -> ModuleType:
    """Return module `name`, executed on its first attribute access rather than now."""
    if name in sys.modules:
        return sys.modules[name]
    if importlib.util.find_spec(name) is None:
        raise ImportError(f"no module named {name}")
    return _LazyModule(name)
