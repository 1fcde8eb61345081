"""Plan a run: check params, resolve target hosts and record what will run where."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from console import events as ev
from console.engine.files import RunFiles, from_launch
from console.errors import ConfigError, EnvironmentUnchosen, LaunchRefused, UsageError
from console.model import resolve
from console.model.base import Scalar
from console.model.config import Config, PipelineFile
from console.model.inventory import Inventory
from console.model.params import resolve_params
from console.model.pipeline import Pipeline, Step
from console.model.problems import did_you_mean
from console.model.templates import render
from console.policy import automatic_problem, gate_policy, may_launch, one_environment


@dataclass(frozen=True)
class RunPlan:
    """A checked, resolved run that is ready to execute."""

    run_id: str
    config: Config
    pipeline_file: PipelineFile
    params: dict[str, Scalar]
    hosts: list[str]
    operator: str
    limit: str | None = None
    repeats: str | None = None
    stored_version: bool = False
    """The pipeline is the text the store kept from an earlier run, not the file as it is now."""
    files: RunFiles | None = None
    """The local files the run reads, by content: bound at launch (`engine.files.bind`)."""

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline being run."""
        return self.pipeline_file.pipeline

    def step_hosts(self, step: Step, among: list[str]) -> list[str]:
        """The hosts a step runs on: `among`, narrowed by the step's own `hosts`."""
        if step.hosts is None:
            return list(among)
        narrowed = set(resolve.select(self.config.inventory, step.hosts))
        return [h for h in among if h in narrowed]

    def environments(self) -> list[str]:
        """The environments the run touches."""
        return target_environments(self.config.inventory, self.pipeline, self.hosts)


def new_run_id(now: float | None = None) -> str:
    """A sortable, readable id such as 20261127-234501-a1b2."""
    stamp = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def plan_run(
    config: Config,
    pipeline_name: str,
    given: Mapping[str, Scalar],
    operator: str,
    limit: str | None = None,
    run_id: str | None = None,
    repeats: str | None = None,
    environments: list[str] | None = None,
) -> RunPlan:
    """Check everything about a launch and resolve it; raises UsageError saying what is wrong.

    `environments` are the ones the person chose (None: none chosen, which is enough only
    when the targets are in one environment)."""
    if pipeline_name not in config.pipelines:
        hint = did_you_mean(pipeline_name, config.pipelines) or (
            f"; the pipelines are {', '.join(sorted(config.pipelines))}"
        )
        raise UsageError(f"no pipeline '{pipeline_name}'{hint}")
    pf = config.pipelines[pipeline_name]
    params = resolve_params(pf.pipeline, given)
    inventory = config.inventory
    hosts = resolve.select(inventory, pf.pipeline.targets)
    if limit:
        limited = set(resolve.select(inventory, limit.split(",")))
        hosts = [h for h in hosts if h in limited]
    if not hosts:
        where = f" within --limit {limit}" if limit else ""
        raise UsageError(
            f"pipeline '{pipeline_name}' has no target hosts{where}; check its targets"
        )
    hosts = in_environments(config, pipeline_name, hosts, environments)
    plan = RunPlan(run_id or new_run_id(), config, pf, params, hosts, operator, limit, repeats)
    _check_transfer_sources(plan)
    refused = may_launch(inventory, plan.environments(), operator)
    if refused:
        raise LaunchRefused(refused)
    for stage in pf.pipeline.stages:
        for step in stage.steps if stage.is_gate else ():
            undecided = automatic_problem(gate_policy(inventory, plan.environments(), step), step)
            if undecided:
                raise UsageError(undecided)
    return plan


def _check_transfer_sources(plan: RunPlan) -> None:
    """Every transfer reads from one host of the run, named (and its path) before anything is
    launched."""
    for stage in plan.pipeline.stages:
        for step in [*stage.steps, *stage.on_failure]:
            for host in plan.step_hosts(step, plan.hosts) if step.transfer else ():
                why = transfer_source(plan, step, host)[2]
                if why:
                    raise UsageError(
                        f"step '{step.name}' of stage '{stage.name}': {why}; nothing was launched"
                    )


def transfer_source(plan: RunPlan, step: Step, host: str) -> tuple[str, str, str]:
    """Where a transfer step on `host` reads from: (source host, its path there, why not)."""
    assert step.transfer is not None
    inventory = plan.config.inventory
    values = resolve.template_values(inventory, host, plan.params)
    source, why = resolve.transfer_source(
        inventory, render(step.transfer.source, values, None), plan.hosts
    )
    if why:
        return "", "", why
    try:
        there = resolve.template_values(inventory, source, plan.params)
        return source, render(step.transfer.src, there, None), ""
    except KeyError as exc:
        name = exc.args[0]
        return "", "", f"its src uses {{{{ {name} }}}}, which the source {source} has no value for"


def target_environments(inventory: Inventory, pipeline: Pipeline, hosts: list[str]) -> list[str]:
    """The environments a pipeline's hosts are in (the pipeline's own, when it names one)."""
    if pipeline.environment:
        return [pipeline.environment]
    envs = {e for h in hosts if (e := resolve.host_environment(inventory, h))}
    declared = [e for e in inventory.environments if e in envs]  # as the inventory orders them
    return declared + sorted(envs - set(declared))


def in_environments(
    config: Config, pipeline_name: str, hosts: list[str], chosen: list[str] | None
) -> list[str]:
    """The hosts in the chosen environments; refused in words when none is chosen and the hosts
    are in several, or when a chosen one holds none of them."""
    pipeline = config.pipelines[pipeline_name].pipeline
    spanned = target_environments(config.inventory, pipeline, hosts)
    refused = one_environment(spanned, chosen)
    if refused:
        raise EnvironmentUnchosen(
            f"pipeline '{pipeline_name}': {refused}; choose it with --env "
            f"(e.g. --env {spanned[0]}), or several at once with --env {','.join(spanned)}",
            spanned,
        )
    if chosen is None or set(spanned) == set(chosen):
        return hosts
    strays = [e for e in chosen if e not in spanned]
    if strays:
        raise UsageError(
            f"pipeline '{pipeline_name}' has no target hosts in {', '.join(strays)}; its "
            f"targets are in {', '.join(spanned) or 'no environment'}"
        )
    if pipeline.environment:
        return hosts  # every host of a pipeline that names its environment is in it
    return [h for h in hosts if resolve.host_environment(config.inventory, h) in chosen]


def launch_event(plan: RunPlan, at: float) -> ev.RunLaunched:
    """The event that records what the run will do, where, with which files, and for whom."""
    files = plan.files
    assert files is not None, "a run's files are bound before it is launched"
    stages = []
    for stage in plan.pipeline.stages:
        steps = [
            ev.StepPlan(name=s.name, kind=s.kind, hosts=plan.step_hosts(s, plan.hosts))
            for s in stage.steps
        ]
        stages.append(
            ev.StagePlan(
                name=stage.name,
                strategy=stage.strategy,
                steps=steps,
                on_failure=[s.name for s in stage.on_failure],
            )
        )
    return ev.RunLaunched(
        run_id=plan.run_id,
        at=at,
        pipeline=plan.pipeline.name,
        pipeline_digest=plan.pipeline_file.source.digest,
        pipeline_path=str(plan.pipeline_file.source.path.resolve()),
        inventory_path=str(plan.config.source.path.resolve()),
        inventory_digest=plan.config.source.digest,
        params=dict(plan.params),
        targets=list(plan.hosts),
        environments=plan.environments(),
        operator=plan.operator,
        stages=stages,
        limit=plan.limit,
        repeats=plan.repeats,
        scripts=dict(files.scripts),
        uploads={path: seal.as_dict() for path, seal in files.uploads.items()},
        stored_version=plan.stored_version,
        host_environments=_host_environments(plan),
        release=_release(plan),
    )


def _host_environments(plan: RunPlan) -> dict[str, str]:
    """Each target's environment: the pipeline's, when it names one, else the host's."""
    found = {}
    for host in plan.hosts:
        env = plan.pipeline.environment or resolve.host_environment(plan.config.inventory, host)
        if env is not None:
            found[host] = env
    return found


def _release(plan: RunPlan) -> str | None:
    """The value of the param the pipeline names as what it releases, if it names one."""
    name = plan.pipeline.release
    value = plan.params.get(name) if name else None
    return None if value is None else str(value)


def with_pipeline(config: Config, pf: PipelineFile) -> Config:
    """The configuration with one pipeline replaced (by the version a store kept)."""
    return replace(config, pipelines={**config.pipelines, pf.pipeline.name: pf})


def stored_pipeline(config: Config, launched: ev.RunLaunched, text: str | None) -> PipelineFile:
    """The pipeline exactly as a run ran it, from the text the store kept, checked against the
    configuration now; refused in words when it cannot be run as it ran."""
    from console.model.load import pipeline_from_text
    from console.model.validate import check_config

    name, run = launched.pipeline, launched.run_id
    if text is None:
        raise UsageError(f"the store does not hold pipeline '{name}' as run {run} ran it")
    pf = pipeline_from_text(Path(launched.pipeline_path), text)
    if pf.source.digest != launched.pipeline_digest or pf.pipeline.name != name:
        raise UsageError(f"the store's copy of pipeline '{name}' does not match run {run}")
    problems = check_config(with_pipeline(config, pf))
    if problems:
        raise ConfigError(problems)
    return pf


def bound(plan: RunPlan, kept: dict[str, bytes] | None = None) -> RunPlan:
    """The plan with its local files read and sealed, as a launch binds them; `kept` gives
    script bytes (by name) to run instead of the files, as a stored version ran them."""
    from console.engine.files import bind

    if plan.files is not None:
        return plan
    files = bind(plan.config, plan.pipeline, plan.params, plan.hosts, kept)
    return replace(plan, files=files)


def scripts_changed(config: Config, launched: ev.RunLaunched, kept: set[str]) -> list[str]:
    """The scripts whose bytes differ from what the run recorded at launch and that the store
    does not hold (`kept`: the digests it holds)."""
    from console.engine.files import file_sha256

    return [
        script
        for script, digest in sorted(launched.scripts.items())
        if digest not in kept and file_sha256(config.base_dir / script) != digest
    ]


def plan_as_launched(
    launched: ev.RunLaunched, stored: str | None = None, kept: set[str] | None = None
) -> RunPlan:
    """The plan of a recorded run, rebuilt from its files, or from the pipeline text the store
    kept (`stored`) when the file changed since; refused, in words, when neither is the run's.
    Its scripts run from the bytes the store keeps (`kept`: their digests)."""
    from console.model.load import load_config

    config = load_config(Path(launched.inventory_path), Path(launched.pipeline_path).parent)
    pf = config.pipelines.get(launched.pipeline)
    as_stored = pf is None or pf.source.digest != launched.pipeline_digest
    if as_stored:
        config = with_pipeline(config, stored_pipeline(config, launched, stored))
    changed = scripts_changed(config, launched, kept or set())
    if changed:
        raise UsageError(
            f"script(s) {', '.join(changed)} changed since run {launched.run_id} was launched, "
            "and the store holds no copy of what it ran; nothing was run: restore them, or "
            "launch it again"
        )
    plan = plan_run(
        config,
        launched.pipeline,
        launched.params,
        launched.operator,
        launched.limit,
        launched.run_id,
        launched.repeats,
        launched.environments,  # chosen at launch
    )
    if plan.hosts != launched.targets:
        raise UsageError(
            f"the inventory's targets of '{launched.pipeline}' changed since run "
            f"{launched.run_id} was launched; nothing was run, launch it again"
        )
    files = from_launch(launched.scripts, launched.uploads)
    return replace(plan, stored_version=as_stored or launched.stored_version, files=files)
