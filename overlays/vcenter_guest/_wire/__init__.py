"""The wire: how requests are built and responses read, on top of the generated client.

With the service modules' own codecs (`_services`), the only code that imports `vcenter_guest_client`;
loaded on the first request, never by `import vcenter_guest`.
"""

from .responses import scrub_error
from .session import session_create, session_delete, session_get
from .transport import transport_error

__all__ = ["scrub_error", "session_create", "session_delete", "session_get", "transport_error"]
