"""Thin drivers: the code that touches the kernel (netlink, raw sockets, timerfd), files,
FIFOs, the control socket and systemd. They turn the outside world into core events and
core output into frames; they decide nothing."""
