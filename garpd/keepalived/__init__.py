"""keepalived.conf for garpd: :mod:`.reader` reads the language, :mod:`.importer` turns
VRRP instances into garpd groups and ``vrrp_garp_*`` into ``[announce]``.

The names other modules import are re-exported here, so ``from garpd.keepalived import
load_keepalived`` keeps working.
"""

from garpd.keepalived.importer import Imported, load_keepalived, loads_keepalived, merge_toml
from garpd.keepalived.reader import KeepalivedConfError

__all__ = [
    "Imported",
    "KeepalivedConfError",
    "load_keepalived",
    "loads_keepalived",
    "merge_toml",
]
