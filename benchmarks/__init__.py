"""Benchmarks of vcenter-guest: the overlay and the generated client against raw httpx and the official SDK.

Run them with `nox -s bench` (installs the official SDK into the bench environment only), or
`nox -s bench -- --quick` for a smoke run with tiny counts. Every server is started on 127.0.0.1
in a separate process so the client process's CPU time is the client's alone.
"""
