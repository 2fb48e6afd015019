"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API.

Example::

    from vcenter_guest import Client, Credentials

    with Client("https://vc.example.com", user="administrator@vsphere.local", password=pw) as vc:
        result = vc.processes.run("vm-42", Credentials.password("root", guest_pw), "/bin/ls", "-l", timeout=60)
        print(result.pid, result.exit_code, result.duration)

`vcenter_guest_client` (generated from the API document) does the wire format; this package adds
sessions, typed errors (`vcenter_guest.errors`), waiting, retries, redaction and fan-out.
`vcenter_guest.operations` is the table of the API's operations, read from the document;
`vcenter_guest.redaction` keeps secrets out of text.
"""

import typing as _typing

from . import _services, _values, errors
from ._clients import AsyncClient, Client
from ._engine.retry import RetryPolicy
from ._services import *  # noqa: F403 - the declared services' classes (see _services.Services)
from ._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from ._values import *  # noqa: F403 - what users pass in and get back (_values.__all__)


def _first_use(name: str) -> _typing.Any:
    # The values (_values.__all__), read from `_values` on first use: the answers of the files, VMs and
    # guest services load only then (`_values.ON_FIRST_USE`), so `import vcenter_guest` does not build
    # their classes.
    if name not in _values.__all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_values, name)
    globals()[name] = value  # later reads find it without `__getattr__`
    return value


def _dir() -> list[str]:
    return sorted({*globals(), *__all__})


if not _typing.TYPE_CHECKING:
    # PEP 562, hidden from type checkers: they see the star import above (`vcenter_guest.Typo` stays an error).
    __getattr__, __dir__ = _first_use, _dir

__all__ = ["AsyncClient", "Client", "RetryPolicy", "errors"]
__all__ += _services.__all__
__all__ += _values.__all__
__all__.sort()
