"""The mock vCenter in its own process, with its CPU time readable from the benchmark process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil

__all__ = ["ROOT", "BenchError", "MockServer"]

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A benchmark could not run, or a client under test returned a wrong answer."""


class MockServer:
    """Serves `inventory` with uvicorn in a child process on 127.0.0.1; the context value is its base URL.

    >>> with MockServer(build_inventory(10)) as server:  # doctest: +SKIP
    ...     httpx.get(server.base_url + "/api/session")
    """

    def __init__(self, inventory: dict[str, Any], *, start_timeout: float = 60.0) -> None:
        self._inventory = inventory
        self._start_timeout = start_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._ps: psutil.Process | None = None
        self.base_url = ""

    def __enter__(self) -> MockServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="vcenter-guest-bench-")
        tmp = Path(self._tmp.name)
        inventory = tmp / "inventory.json"
        inventory.write_text(json.dumps(self._inventory), encoding="utf-8")
        log = (tmp / "server.log").open("w", encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._serve", "--inventory", str(inventory)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()
        try:
            self._wait_ready(tmp / "server.log")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self._ps = psutil.Process(self._proc.pid)
        return self

    def _wait_ready(self, log: Path) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(10)
            raise BenchError(f"the mock server did not start:\n{log.read_text(encoding='utf-8')[-3000:]}")
        self.base_url = f"http://127.0.0.1:{json.loads(line)['port']}"
        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                httpx.get(self.base_url + "/api/session", timeout=5)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise BenchError(
                        f"the mock server did not answer:\n{log.read_text(encoding='utf-8')[-3000:]}"
                    ) from None
                time.sleep(0.05)

    def request_counts(self) -> dict[str, int]:
        """Requests the server has answered so far, keyed `"<vm> <action>"` (e.g. `"vm-7 get"`)."""
        counts: dict[str, int] = httpx.get(self.base_url + "/__bench__/counts", timeout=30).json()
        return counts

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        if self._ps is None:
            raise BenchError("the mock server is not running")
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(10)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
