"""The sans-IO engine: plans that yield typed effects (`effects`), the session and retry logic
(`core`, `retry`), and waiting for programs (`waiting`, `polling`). No I/O, no generated code."""

from .calls import Call, SessionCalls
from .core import SESSION_HEADER, Engine
from .effects import CAUGHT, Effect, Move, Moved, Plan, Renew, Send, Sleep, Stepper
from .retry import RetryPolicy

__all__ = [
    "CAUGHT",
    "SESSION_HEADER",
    "Call",
    "Effect",
    "Engine",
    "Move",
    "Moved",
    "Plan",
    "Renew",
    "RetryPolicy",
    "Send",
    "SessionCalls",
    "Sleep",
    "Stepper",
]
