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
    ...     def drive(self, plan):
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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from vcenter_guest._engine import Engine, Plan

__all__ = [
    "AsyncService",
    "AsyncServiceClient",
    "ServiceClient",
    "SyncService",
    "SyncServiceClient",
    "driven",
    "service",
    "services",
]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="SyncService")
A = TypeVar("A", bound="AsyncService")


class ServiceClient(Protocol):
    """What a service sees of its client (`Client` or `AsyncClient`): the engine its plans are built
    with, and the `esxi_hosts` its transfers go through."""

    @property
    def engine(self) -> Engine: ...
    @property
    def esxi_hosts(self) -> Mapping[str, str]: ...


class SyncServiceClient(ServiceClient, Protocol):
    """A sync client, as its services see it: `drive` runs a plan to its end."""

    def drive(self, plan: Plan[T]) -> T: ...


class AsyncServiceClient(ServiceClient, Protocol):
    """An async client, as its services see it: `drive` runs a plan, awaited; `fit_pool` makes room for
    `concurrency` connections (run_many)."""

    async def drive(self, plan: Plan[T]) -> T: ...
    def fit_pool(self, concurrency: int) -> None: ...


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

    def __init__(self, client: SyncServiceClient) -> None:
        self._client = client

    def _bind(self, build: Callable[..., Plan[T]]) -> Callable[..., T]:
        drive = self._client.drive

        @functools.wraps(build)
        def method(*args: Any, **kwargs: Any) -> T:
            result: T = drive(build(self, *args, **kwargs))
            return result

        _without_self(build, method)
        return method


class AsyncService:
    """A service of an async client: its `@driven` methods are coroutine methods."""

    def __init__(self, client: AsyncServiceClient) -> None:
        self._client = client

    def _bind(self, build: Callable[..., Plan[T]]) -> Callable[..., Awaitable[T]]:
        drive = self._client.drive

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


class service(Generic[S, A]):
    """Declares a service of both clients once, on `Services` (which `BaseClient` inherits): read on a
    `Client`, it is the sync class's service of that client (typed `S`), on an `AsyncClient` the async
    class's (typed `A`), made on first use and kept. Its docstring is the sync class's summary line;
    `vcenter_guest.__all__` and the public surface test read the classes from here (see `services`).

        >>> class Echo(SyncService):
        ...     "Echoes."
        >>> class AsyncEcho(AsyncService):
        ...     "Echoes, awaited."
        >>> class Driver:
        ...     echo = service(Echo, AsyncEcho)
        ...     def drive(self, plan):
        ...         return None
        >>> driver = Driver()
        >>> type(driver.echo).__name__, driver.echo is driver.echo, Driver.echo.__doc__
        ('Echo', True, 'Echoes.')
    """

    def __init__(self, sync: type[S], asynchronous: type[A]) -> None:
        self.sync, self.asynchronous = sync, asynchronous
        self.name = sync.__name__.lower()
        self.__doc__ = (sync.__doc__ or "").strip().split("\n\n", 1)[0]

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> service[S, A]: ...
    @overload
    def __get__(self, obj: SyncServiceClient, owner: type) -> S: ...
    @overload
    def __get__(self, obj: AsyncServiceClient, owner: type) -> A: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        drive = getattr(type(obj), "drive", None)
        made: SyncService | AsyncService
        made = self.asynchronous(obj) if inspect.iscoroutinefunction(drive) else self.sync(obj)
        obj.__dict__[self.name] = made  # made once per client: later reads find it first
        return made


def services(owner: type) -> dict[str, service[Any, Any]]:
    """The services declared on `owner` (and its bases), by attribute name, in declaration order."""
    found: dict[str, service[Any, Any]] = {}
    for cls in reversed(owner.__mro__):
        found.update({name: value for name, value in vars(cls).items() if isinstance(value, service)})
    return found
