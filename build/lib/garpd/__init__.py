"""garpd: keeps a LAN's ARP and IPv6 neighbour caches pointing at whoever holds a VIP now."""

__version__ = "0.1.0"
