"""Drivers: the code that owns a socket, a file descriptor or a process-wide resource."""
