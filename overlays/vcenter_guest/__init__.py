"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API."""

__all__: list[str] = []

# Corrects known generator bugs in vcenter_guest_client before anything parses a response, as
# soon as its models are imported (not now: that would double the cost of this import).
from ._patch_hook import install as _install_patches

_install_patches()
