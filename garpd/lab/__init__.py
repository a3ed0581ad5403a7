"""The namespace lab: a throwaway Ethernet segment of network namespaces, shared by
``garpd demo``, the tests (``tests/lab.py`` is its pytest adapter) and the benchmark.

- :mod:`garpd.lab.common`: errors, commands, waiting, the address ranges the lab may use;
- :mod:`garpd.lab.netns`: :class:`~garpd.lab.netns.Lab` (namespaces, the bridge, veth
  pairs, sysctls, processes started and ended by PID, addresses, neighbour tables, clean-up
  and the sweep of leftovers), and entering a namespace from this process;
- :mod:`garpd.lab.capture`: frames captured on a host's interface, and their decoder;
- :mod:`garpd.lab.agent`: the helper process run inside a namespace (capture, send, ping,
  and the demo's watcher of address, neighbour and GARP events);
- :mod:`garpd.lab.watch`: the host side of those watchers.

Only for labs: nothing in garpd's run, notify or announce paths imports it. This package
file imports nothing, so the agent starts fast.
"""
