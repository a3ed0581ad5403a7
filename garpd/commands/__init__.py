"""One module per sub-command: each chooses what to watch, wires drivers to the core, and
returns an exit code. ``garpd.cli`` imports a command module only when it runs."""
