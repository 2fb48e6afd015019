"""Services written once for the sync and the async client.

A service method is written once, as a function that checks its arguments and returns a plan, and
decorated with `@driven`. Read on a service of a sync `Client`, it is a plain method that runs the
plan; read on a service of an `AsyncClient`, it is a coroutine method. Signature, docstring and checks
are the same object: the two can never drift apart (httpx's `BaseClient` idea, applied to services).

    >>> class Echo(SyncService):
    ...     @driven
    ...     def hello(self, name: str) -> Plan[str]:
    ...         '''Greets.'''
    ...         if False:
    ...             yield
    ...         return f"hello {name}"
    >>> class Driver:
    ...     def _drive(self, plan):
    ...         try:
    ...             plan.send(None)
    ...         except StopIteration as stop:
    ...             return stop.value
    >>> Echo(Driver()).hello("you"), Echo.hello.__doc__
    ('hello you', 'Greets.')
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from vcenter_guest._engine import Plan

__all__ = ["AsyncService", "SyncService", "driven"]

P = ParamSpec("P")
T = TypeVar("T")


class _SyncDriver(Protocol):
    def _drive(self, plan: Plan[T]) -> T: ...


class _AsyncDriver(Protocol):
    async def _drive(self, plan: Plan[T]) -> T: ...


def _without_self(build: Callable[..., Any], method: Callable[..., Any]) -> None:
    # What help() shows: the plan's parameters without `self`, and what the plan returns (Plan[X] -> X).
    signature = inspect.signature(build)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Plan[") and returns.endswith("]"):
        returns = returns[len("Plan[") : -1]
    parameters = list(signature.parameters.values())[1:]
    method.__signature__ = signature.replace(parameters=parameters, return_annotation=returns)  # type: ignore[attr-defined]


class SyncService:
    """A service of a sync client: its `@driven` methods run their plans at once."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _bind(self, build: Callable[..., Plan[T]]) -> Callable[..., T]:
        drive = self._client._drive

        @functools.wraps(build)
        def method(*args: Any, **kwargs: Any) -> T:
            result: T = drive(build(self, *args, **kwargs))
            return result

        _without_self(build, method)
        return method


class AsyncService:
    """A service of an async client: its `@driven` methods are coroutine methods."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _bind(self, build: Callable[..., Plan[T]]) -> Callable[..., Awaitable[T]]:
        drive = self._client._drive

        @functools.wraps(build)
        async def method(*args: Any, **kwargs: Any) -> T:
            result: T = await drive(build(self, *args, **kwargs))
            return result

        _without_self(build, method)
        return method


class driven(Generic[P, T]):
    """Makes a plan-building method a method of sync and async services alike (see the module)."""

    def __init__(self, build: Callable[Concatenate[Any, P], Plan[T]]) -> None:
        self._build = build
        self._name = build.__name__
        functools.update_wrapper(self, build)  # type: ignore[arg-type] # docs and name, for help()

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> driven[P, T]: ...
    @overload
    def __get__(self, obj: SyncService, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncService, owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: object, owner: type) -> Any:
        if obj is None:
            return self
        if not isinstance(obj, SyncService | AsyncService):
            raise TypeError(f"{self._name} is a method of a service of Client or AsyncClient")
        method = obj._bind(self._build)
        obj.__dict__[self._name] = method  # bound once per service object
        return method

    def plan(self, service: object, *args: P.args, **kwargs: P.kwargs) -> Plan[T]:
        """The plan the method runs (for tests that drive the engine without a client)."""
        return self._build(service, *args, **kwargs)
