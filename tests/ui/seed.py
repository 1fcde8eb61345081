"""Runs written straight into a real store, for the console to show: fixed ids, times and names."""

from __future__ import annotations

from pathlib import Path

from console import events as ev
from console.policy import Policy
from console.store.sqlite import SQLiteStore

T0 = 1_795_000_000.0  # a fixed moment, so that snapshots do not depend on the clock


def plan(hosts: list[str]) -> list[ev.StagePlan]:
    """Three stages: a check, a gate, a rollout."""
    return [
        ev.StagePlan(
            name="preflight",
            strategy="parallel",
            steps=[ev.StepPlan(name="disk space", kind="check", hosts=hosts)],
        ),
        ev.StagePlan(
            name="approval",
            strategy="parallel",
            steps=[ev.StepPlan(name="change board", kind="gate", hosts=hosts)],
        ),
        ev.StagePlan(
            name="rollout",
            strategy="rolling",
            steps=[ev.StepPlan(name="switch", kind="run", hosts=hosts)],
        ),
    ]


def launch(
    store: SQLiteStore,
    run_id: str,
    at: float,
    operator: str = "bob",
    hosts: tuple[str, ...] = ("ehr-web-stg-01", "ehr-web-stg-02"),
    env: str = "staging",
    params: dict[str, object] | None = None,
    promotion: dict[str, dict[str, object]] | None = None,
    follows: str | None = None,
) -> None:
    """A launched, started run."""
    store.create_run(
        ev.RunLaunched(
            run_id=run_id,
            at=at,
            pipeline="deploy-ehr-web",
            pipeline_digest="d" * 64,
            pipeline_path="p",
            inventory_path="i",
            inventory_digest="e" * 64,
            params=params if params is not None else {"version": "4.2.0"},
            targets=list(hosts),
            environments=[env],
            operator=operator,
            stages=plan(list(hosts)),
            promotion=promotion or {},
            follows=follows,
        ),
        "",
    )
    store.append([ev.RunStarted(run_id=run_id, at=at + 0.1, pid=1, node="elsewhere")])


def step(
    store: SQLiteStore, run_id: str, at: float, host: str, status: str, out: bytes = b""
) -> None:
    """The disk-space check on one host."""
    events: list[ev.Event] = [
        ev.StepStarted(run_id=run_id, at=at, stage="preflight", step="disk space", host=host)
    ]
    if out:
        events.append(
            ev.Output(
                run_id=run_id,
                at=at,
                stage="preflight",
                step="disk space",
                host=host,
                stream="stdout",
                data=out,
            )
        )
    events.append(
        ev.StepFinished(
            run_id=run_id,
            at=at + 0.4,
            stage="preflight",
            step="disk space",
            host=host,
            status=status,
            exit_code=0 if status == "ok" else 1,
        )
    )
    store.append(events)


def waiting(store: SQLiteStore, run_id: str, at: float) -> None:
    """The run reaches its gate."""
    store.append(
        [
            ev.GateOpened(
                run_id=run_id,
                at=at,
                stage="approval",
                step="change board",
                message="Release 4.2.0 to the EHR web tier",
                approvals_required=1,
                plan_digest="ab12" * 16,
                digest_parts={
                    "pipeline": "cd34" * 16,
                    "params": {"version": "4.2.0"},
                    "targets": {
                        "ehr-web-stg-01": "10.20.1.11:22",
                        "ehr-web-stg-02": "10.20.1.12:22",
                    },
                    "host_keys": {"ehr-web-stg-01": ["SHA256:x"], "ehr-web-stg-02": ["SHA256:y"]},
                },
                policy=Policy(
                    environments=("staging",),
                    approver_roles=("ops", "change-board"),
                    self_approval=False,
                ).as_dict(),
            )
        ]
    )


def estate(path: Path) -> SQLiteStore:
    """A store with one finished run, one failed run and one run waiting at its gate."""
    store = SQLiteStore(path, actor="runner")  # the same account on every machine: snapshots
    launch(store, "20261117-090000-aaaa", T0)
    for host in ("ehr-web-stg-01", "ehr-web-stg-02"):
        step(store, "20261117-090000-aaaa", T0 + 1, host, "ok", b"use 41%\n")
    store.append([ev.RunFinished(run_id="20261117-090000-aaaa", at=T0 + 30, status="succeeded")])
    launch(store, "20261117-100000-bbbb", T0 + 3600, operator="carol")
    step(store, "20261117-100000-bbbb", T0 + 3601, "ehr-web-stg-01", "failed", b"use 97%\n")
    store.append(
        [
            ev.RunFinished(
                run_id="20261117-100000-bbbb",
                at=T0 + 3610,
                status="failed",
                message="stage 'preflight' failed on 1 of 2 hosts",
            )
        ]
    )
    launch(store, "20261117-110000-cccc", T0 + 7200)
    step(store, "20261117-110000-cccc", T0 + 7201, "ehr-web-stg-01", "ok")
    step(store, "20261117-110000-cccc", T0 + 7201, "ehr-web-stg-02", "ok")
    waiting(store, "20261117-110000-cccc", T0 + 7202)
    return store


def output(
    store: SQLiteStore,
    run_id: str,
    host: str,
    chunks: list[bytes],
    at: float = T0 + 7500,
    step: str = "disk space",
) -> None:
    """Output chunks of a preflight step on one host, appended in one go."""
    store.append(
        [
            ev.Output(
                run_id=run_id,
                at=at + i / 1000,
                stage="preflight",
                step=step,
                host=host,
                stream="stdout",
                data=chunk,
            )
            for i, chunk in enumerate(chunks)
        ]
    )


def staged(path: Path, version: str, at: float, run_id: str = "20261130-090000-stg1") -> None:
    """A deploy-ehr-web run of this version that succeeded in staging at `at`: what the
    sample's prod requires before it takes the version."""
    store = SQLiteStore(path, actor="runner")
    launch(store, run_id, at - 60, params={"version": version})
    store.append([ev.RunFinished(run_id=run_id, at=at, status="succeeded")])
    store.close()
