"""The hosts of a stage meet at a step that sends a file: one read for all who reach it
together, and nobody waits for a host that will never come."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.engine.rendezvous import Rendezvous
from console.transport.landing import Landing
from console.transport.target import HostTarget


def _landing(host: str) -> Landing:
    target = HostTarget(host, "127.0.0.1", 22, "ops", Path("/dev/null"), None, 5, 15, 3)
    return Landing(target, f"/srv/{host}", None, "tag")


def _recorder(groups: list[list[str]]):  # type: ignore[no-untyped-def]
    async def start(landings: list[Landing]) -> None:
        groups.append(sorted(landing.target.name for landing in landings))
        for landing in landings:
            landing.delivered = True

    return start


def test_hosts_that_reach_the_step_together_share_one_send() -> None:
    async def scenario() -> list[list[str]]:
        groups: list[list[str]] = []
        meeting = Rendezvous()
        for host in ("h1", "h2", "h3"):
            meeting.enter(host, [0, 1])
            meeting.at(host, 0)
        waits = []
        for host in ("h1", "h2"):  # h3 is still on step 0
            meeting.at(host, 1)
            waits.append(
                asyncio.ensure_future(meeting.meet(host, 1, "k", _landing(host), _recorder(groups)))
            )
        await asyncio.sleep(0.05)
        assert groups == []  # nobody sent while h3 may still come
        meeting.at("h3", 1)
        waits.append(
            asyncio.ensure_future(meeting.meet("h3", 1, "k", _landing("h3"), _recorder(groups)))
        )
        await asyncio.gather(*waits)
        return groups

    assert asyncio.run(scenario()) == [["h1", "h2", "h3"]]


def test_a_host_that_drops_out_or_skips_the_step_is_not_waited_for() -> None:
    async def scenario() -> list[list[str]]:
        groups: list[list[str]] = []
        meeting = Rendezvous()
        meeting.enter("h1", [0, 1])
        meeting.enter("h2", [0, 1])
        meeting.enter("h3", [0])  # the step is not for h3 (its `hosts` leave it out)
        for host in ("h1", "h2", "h3"):
            meeting.at(host, 0)
        meeting.at("h1", 1)
        first = asyncio.ensure_future(meeting.meet("h1", 1, "k", _landing("h1"), _recorder(groups)))
        await asyncio.sleep(0.05)
        assert groups == []
        meeting.leave("h2")  # failed its step 0
        await first
        return groups

    assert asyncio.run(scenario()) == [["h1"]]


def test_a_host_cancelled_while_waiting_leaves_the_group() -> None:
    async def scenario() -> list[list[str]]:
        groups: list[list[str]] = []
        meeting = Rendezvous()
        for host in ("h1", "h2", "h3"):
            meeting.enter(host, [0])
            meeting.at(host, 0)
        h1 = asyncio.ensure_future(meeting.meet("h1", 0, "k", _landing("h1"), _recorder(groups)))
        h2 = asyncio.ensure_future(meeting.meet("h2", 0, "k", _landing("h2"), _recorder(groups)))
        await asyncio.sleep(0.05)
        h2.cancel()
        meeting.leave("h2")
        await asyncio.gather(h2, return_exceptions=True)
        meeting.at("h3", 0)
        h3 = asyncio.ensure_future(meeting.meet("h3", 0, "k", _landing("h3"), _recorder(groups)))
        await asyncio.gather(h1, h3)
        return groups

    assert asyncio.run(scenario()) == [["h1", "h3"]]
