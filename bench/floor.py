"""The floor for fan-out: bare asyncssh, one connection per host, `steps` commands on each.

It checks host keys against the same known_hosts file and uses the same client key as the
console does, so that it does the same work with nothing else around it.
"""

from __future__ import annotations

import argparse
import asyncio

import asyncssh


async def one(args: argparse.Namespace, known: asyncssh.SSHKnownHosts) -> None:
    async with asyncssh.connect(
        "127.0.0.1",
        port=args.port,
        username=args.user,
        known_hosts=known,
        client_keys=[args.key],
        config=[],
        agent_path=None,
    ) as conn:
        for _ in range(args.steps):
            result = await conn.run(args.command, check=True)
            assert result.stdout


async def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("port", "hosts", "steps"):
        parser.add_argument(f"--{name}", type=int, required=True)
    for name in ("user", "key", "known", "command"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    known = asyncssh.read_known_hosts(args.known)
    await asyncio.gather(*(one(args, known) for _ in range(args.hosts)))


if __name__ == "__main__":
    asyncio.run(main())
