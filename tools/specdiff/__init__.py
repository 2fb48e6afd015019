"""The spec diff: openapi/vcenter-guest.yaml against VMware's published spec, departures applied."""
