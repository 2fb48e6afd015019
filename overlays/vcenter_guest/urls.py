"""The URLs users give, read as the clients read them (for the command line and other front ends).

>>> server_url("vc.example.com:8443/")
'https://vc.example.com:8443'
"""

from vcenter_guest._clients.options import server_url

__all__ = ["server_url"]
