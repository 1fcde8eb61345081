"""Which filesystem a store would live on: SQLite's locks are not to be trusted over a network."""

from __future__ import annotations

from pathlib import Path

from console.errors import StoreError

MOUNTS = Path("/proc/mounts")
NETWORK = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "fuse.sshfs",
    }
)


def network_filesystem(path: Path) -> tuple[str, str] | None:
    """(filesystem type, mount point) when `path` lies on a network filesystem, else None."""
    try:
        lines = MOUNTS.read_text().splitlines()
    except OSError:
        return None  # no mount table to read (not Linux): nothing is known, nothing refused
    target = path.resolve()
    best: tuple[str, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        if target.is_relative_to(mount) and (best is None or len(mount) > len(best[1])):
            best = (fields[2], mount)
    return best if best is not None and best[0] in NETWORK else None


def refuse_network_filesystem(store: Path) -> None:
    """Refuse, in words, a store whose folder is on a network filesystem."""
    remote = network_filesystem(store.parent)
    if remote:
        raise StoreError(
            f"the store {store} would be on a network filesystem ({remote[0]} at {remote[1]}), "
            "where SQLite's locks cannot be trusted and runs could be lost; keep it on a local "
            "disk of this machine (a store shared between machines needs PostgreSQL, which "
            "opsconsole does not support yet)"
        )
