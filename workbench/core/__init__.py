"""The workspace core: SQLite catalogue, artifact folders, atomic writes.

The core never imports a capability subpackage.
"""

from ._atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file
from ._catalog import Catalog, utcnow
from ._fingerprint import fingerprint
from ._workspace import Workspace, get_workspace

__all__ = [
    "Catalog",
    "Workspace",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "fingerprint",
    "get_workspace",
    "sha256_file",
    "utcnow",
]
