"""The wire: how requests are built and responses read, on top of the generated client.

With the service modules' own codecs (`_services`), the only code that imports `vcenter_guest_client`;
loaded on the first request, never by `import vcenter_guest`. The engine is below it: the client hands
the engine the session calls (`session`) it makes.
"""
