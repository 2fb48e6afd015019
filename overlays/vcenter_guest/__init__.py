"""vcenter-guest: run programs inside vSphere VMs through the vSphere Automation REST API."""

__all__: list[str] = []

# Corrects known generator bugs in vcenter_guest_client before anything parses a response.
from ._patch import patch_sdk as _patch_sdk

_patch_sdk()
