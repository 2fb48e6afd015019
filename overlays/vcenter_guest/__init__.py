"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API."""

__all__: list[str] = []
