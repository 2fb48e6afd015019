"""API sessions: logging in and out, session ids, idle expiry, privileges: the rules every call of the API
meets first (the session service's handlers are in `services.session`)."""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
from typing import Any

from ._errors import CHALLENGE, MockError
from ._state import Session, SimulatorState

__all__ = ["CHALLENGE", "SESSION_HEADER", "Session", "Sessions", "basic_credentials"]

log = logging.getLogger("vcenter_guest.mock")

SESSION_HEADER = b"vmware-api-session-id"


class Sessions(SimulatorState):
    """The simulator's API sessions."""

    def new_session_id(self) -> str:
        """A fresh, unguessable session id."""
        return secrets.token_hex(16)

    def check_api_credentials(self, user_name: str, password: str) -> str:
        """The user's name if the credentials are right, else UNAUTHENTICATED (no hint which part is wrong)."""
        user = self.inventory.users.get(user_name)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            raise self.unauthenticated()
        return user.name

    def unauthenticated(self) -> MockError:
        """The error for a missing, unknown or expired session, or wrong basic credentials."""
        return MockError(
            "UNAUTHENTICATED",
            "com.vmware.vapi.endpoint.method.authentication.required",
            "Authentication required.",
            challenge=CHALLENGE,
        )

    def create_session(self, user_name: str, password: str) -> str:
        """Logs in an API user; returns the new session id."""
        with self._lock:
            name = self.check_api_credentials(user_name, password)
            now = self.now()
            self._session_creations += 1
            if self._session_creations % 256 == 0:
                self._purge_sessions(now)
            session = Session(self.new_session_id(), name, now, now)
            self._sessions[session.id] = session
            log.info("API session created for %s", name)
            return session.id

    def _purge_sessions(self, now: float) -> None:
        timeout = self.inventory.session_idle_timeout
        for key in [k for k, s in self._sessions.items() if now - s.last_accessed >= timeout]:
            del self._sessions[key]

    def session(self, session_id: str | None) -> Session:
        """The live session with this id (marked as used now), or UNAUTHENTICATED."""
        with self._lock:
            session = self._sessions.get(session_id) if session_id else None
            if session is None:
                raise self.unauthenticated()
            now = self.now()
            if now - session.last_accessed >= self.inventory.session_idle_timeout:
                del self._sessions[session.id]
                log.info("API session of %s expired", session.user)
                raise self.unauthenticated()
            session.last_accessed = now
            return session

    def session_info(self, session: Session) -> dict[str, Any]:
        """`Cis.Session.Info` of a session."""
        return {
            "user": session.user,
            "created_time": self.timestamp(session.created),
            "last_accessed_time": self.timestamp(session.last_accessed),
        }

    def delete_session(self, session: Session) -> None:
        """Logs out."""
        with self._lock:
            self._sessions.pop(session.id, None)
            log.info("API session of %s deleted", session.user)

    def authorize(self, session: Session, privilege: str) -> None:
        """UNAUTHORIZED unless the session's user holds `privilege` (every user holds the `System.*` ones)."""
        if privilege.startswith("System."):
            return  # System.Anonymous, System.View and System.Read: vCenter grants them to every role
        user = self.inventory.users.get(session.user)
        if user is None or privilege not in user.privileges:
            raise MockError(
                "UNAUTHORIZED",
                "vapi.security.authorization.invalid",
                "Unable to authorize user {0}.",
                session.user,
            )  # vCenter does not say which privilege is missing


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(user, password) of an HTTP basic Authorization header, or (None, None)."""
    if not header or header[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except ValueError:  # bad base64 (binascii.Error), non-ASCII header text, undecodable bytes
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)
