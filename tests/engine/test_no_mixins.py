"""The executor is composed of collaborators, not a chain of mixins: no class of ``daemon.engine`` inherits
from another class of ``daemon.engine`` (Protocols excepted: a collaborator may state what it needs as one).
A new "part built on the one before" fails here; pass the collaborator in instead."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import daemon.engine
from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.settings import Settings
from daemon.store import Store


def engine_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(daemon.engine.__path__, "daemon.engine."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                found.append(cls)
    return found


def is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


def test_no_engine_class_inherits_from_another() -> None:
    classes = engine_classes()
    assert len(classes) > 20  # the walk found the package's classes
    offenders = {
        cls.__qualname__: [
            base.__qualname__
            for base in cls.__mro__[1:]
            if base.__module__.startswith("daemon.engine.") and not is_protocol(base)
        ]
        for cls in classes
    }
    assert {name: bases for name, bases in offenders.items() if bases} == {}


def test_the_executor_is_a_facade_over_its_collaborators(store: Store, tmp_path: Path) -> None:
    executor = Executor(store, Settings(home=tmp_path), SystemClock(), {}, workers=2, environ={})
    assert Executor.__mro__ == (Executor, object)
    # one shared state, handed to every collaborator explicitly
    parts = [executor.attempts, executor.flowables, executor.stepper, executor.writer, executor.lifecycle]
    parts += [executor.claims, executor.loop, executor.runtime]
    assert all(part.state is executor.state for part in parts)
    assert executor.views is executor.state.views
    executor.drain()
    assert executor.workers == executor.state.workers == 0
    replaced = type(executor.storage)(tmp_path / "other")
    executor.storage = replaced  # the daemon replaces it after construction: every collaborator sees it
    assert executor.runtime.storage is replaced
