"""Turn the sample inventory into one served by embedded hosts, written to a work folder."""

from __future__ import annotations

import asyncio
import getpass
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from console.transport.demo import DemoHost, new_client_key, public_line, start_host


def sample_dir() -> Path:
    """The folder holding sample_inventory.toml (the project's root in a checkout)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "sample_inventory.toml").is_file():
            return parent
    raise FileNotFoundError(
        "sample_inventory.toml was not found beside the package; pass --inventory"
    )


@dataclass
class Estate:
    """The running demo hosts and the inventory that points at them."""

    hosts: dict[str, DemoHost]
    inventory: Path

    async def close(self) -> None:
        """Stop every host."""
        for host in self.hosts.values():
            host.acceptor.close()
        await asyncio.gather(*(h.acceptor.wait_closed() for h in self.hosts.values()))


def _sandboxed(vars_: dict[str, Any], root: Path) -> dict[str, Any]:
    """Absolute paths in vars move into the host's sandbox, so the demo never writes outside it."""
    return {
        k: (str(root) + v if isinstance(v, str) and v.startswith("/") else v)
        for k, v in vars_.items()
    }


async def start_estate(source: Path, work: Path, hooks: str | None = None) -> Estate:
    """Serve every host of an inventory file and write the demo's copy of it into `work`
    (its webhooks sent to the demo's receiver at `hooks`; without one, nowhere)."""
    source = source.resolve()  # its folder is linked from elsewhere: a relative one would dangle
    data = tomllib.loads(source.read_text())
    client_key = new_client_key(work / "demo_key")
    names = list(data.get("hosts", {}))
    started = await asyncio.gather(*(start_host(n, work, client_key) for n in names))
    hosts = {h.name: h for h in started}
    known = "".join(f"[127.0.0.1]:{h.port} {public_line(h.key)}\n" for h in started)
    (work / "known_hosts").write_text(known)
    data["ssh"] = {
        **data.get("ssh", {}),
        "user": getpass.getuser(),
        "known_hosts": "known_hosts",
        "identity_file": "demo_key",
        "port": 22,
    }
    for name, spec in data["hosts"].items():
        for key in ("user", "known_hosts", "identity_file"):
            spec.pop(key, None)
        spec.update(address="127.0.0.1", port=hosts[name].port)
    pipelines = (source.parent / data["inventory"].get("pipelines", "pipelines")).resolve()
    data["inventory"] = {
        **data["inventory"],
        "pipelines": str(pipelines),
        "name": data["inventory"]["name"] + " (demo)",
    }
    _demo_operators(data)
    _local_webhooks(data, hooks)
    _link_local_files(source.parent, work)
    target = work / "inventory.toml"
    target.write_text(tomli_w.dumps(_host_paths(data, hosts)))
    return Estate(hosts, target)


DEMO_APPROVERS = ("okafor", "lindqvist")
"""The simulated change board that approves the demo's gates: two named members, so that a
gate needing two approvals (prod) shows them arrive one by one."""


def _demo_operators(data: dict[str, Any]) -> None:
    """You launch in the demo as an ops engineer; two simulated board members approve."""
    from console.identity import current_operator

    operators = data.setdefault("operators", {})
    operators.setdefault(current_operator(), {"roles": ["ops"]})
    for name in DEMO_APPROVERS:
        operators[name] = {"roles": ["change-board"]}


def _local_webhooks(data: dict[str, Any], hooks: str | None) -> None:
    """The sample's webhooks go to the demo's receiver, each under its own path; targets it
    cannot receive (mail, commands) are left out, as are all of them without a receiver."""
    targets = data.pop("notify", {})
    if hooks is None:
        return
    data["notify"] = {
        name: {**target, "webhook": f"{hooks}/{name}", "attempts": 2, "timeout": "3s"}
        for name, target in targets.items()
        if "webhook" in target
    }
    for target in data["notify"].values():
        target.pop("token", None)  # the demo has no secrets to send


def _host_paths(data: dict[str, Any], hosts: dict[str, DemoHost]) -> dict[str, Any]:
    """Give each host its merged vars, with absolute paths moved into its own sandbox."""
    from console.model.inventory import Inventory
    from console.model.resolve import host_vars

    inventory = Inventory.model_validate(data)
    for name, spec in data["hosts"].items():
        spec["vars"] = _sandboxed(dict(host_vars(inventory, name)), hosts[name].root)
    return data


def _link_local_files(sample: Path, work: Path) -> None:
    """Local files pipelines use (artifacts, scripts) are found beside the demo's inventory."""
    for entry in ("artifacts", "scripts"):
        if (sample / entry).exists() and not (work / entry).exists():
            (work / entry).symlink_to(sample / entry)
