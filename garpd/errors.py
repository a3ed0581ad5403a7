"""Exit codes and garpd's one error hierarchy (h11's split: our user's mistakes apart from
a peer's garbage).

- :class:`UserError` and its kinds: the person running garpd asked for something
  impossible (an argument, a configuration file). The command prints one precise line per
  problem and exits :data:`EXIT_USAGE`; the daemon keeps its running configuration.
- :class:`RuntimeFailureError`: the system would not do what was asked (a socket, netlink,
  an interface gone): exit :data:`EXIT_RUNTIME`.
- :class:`RemoteError` and its kinds: something from outside that the user does not
  control (a VRRP advert, a FIFO line, a control request, a frame) is malformed. It is
  logged, counted and dropped; it never ends a command or the daemon.

Imported on the notify hook's path: nothing here imports anything.
"""

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


class GarpdError(Exception):
    """Base of every error garpd raises on purpose."""


class UserError(GarpdError):
    """The user's mistake: printed as one line per problem, exit 2.

    ``lines`` holds the human-readable lines (one problem each); ``str()`` joins them.
    """

    exit_code = EXIT_USAGE

    def __init__(self, *lines: str) -> None:
        self.lines: list[str] = [str(line) for line in lines]
        super().__init__("\n".join(self.lines))


class UsageError(UserError):
    """A command-line argument is impossible (unknown interface, bad address, ...)."""


class RuntimeFailureError(GarpdError):
    """The system would not do what was asked (socket, netlink, interface): exit 1."""

    exit_code = EXIT_RUNTIME


class RemoteError(GarpdError, ValueError):
    """A peer sent garbage: log it, count it, carry on.

    ``reason`` is a short, log-friendly description of what was wrong.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
