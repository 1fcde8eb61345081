"""Cross-checks that span files: names that must exist, cycles, environments and templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from console.errors import Problem
from console.model import resolve
from console.model.config import Config, PipelineFile, SourceFile
from console.model.inventory import Inventory
from console.model.params import ParamError, coerce
from console.model.pipeline import Step
from console.model.problems import did_you_mean, path_text
from console.model.templates import names_in, quoted_templates, secrets_in, unknown_names
from console.model.trust import untrusted


def check_config(config: Config) -> list[Problem]:
    """Every cross-file problem in the inventory and its pipelines."""
    problems = list(check_inventory(config.inventory, config.source))
    problems.extend(_check_known_hosts(config.inventory, config.source, config.base_dir))
    if problems:
        return problems  # pipeline checks would only repeat the inventory's mistakes
    for pipeline_file in config.pipelines.values():
        problems.extend(check_pipeline(config.inventory, pipeline_file, config.base_dir))
    problems.extend(_check_chains(config))
    return problems


def _check_chains(config: Config) -> Iterator[Problem]:
    """What follows a pipeline names a pipeline, its params and templates, and no chain
    comes back round to where it began (it would launch for ever)."""
    for name, pf in config.pipelines.items():
        given = set(pf.pipeline.params)
        for i, follower in enumerate(pf.pipeline.then):
            loc: tuple[str | int, ...] = ("then", i, "pipeline")
            after = config.pipelines.get(follower.pipeline)
            if after is None:
                hint = did_you_mean(follower.pipeline, config.pipelines)
                yield _problem(pf.source, loc, f"no pipeline '{follower.pipeline}'{hint}")
                continue
            for key, text in follower.params.items():
                if key not in after.pipeline.params:
                    hint = did_you_mean(key, after.pipeline.params)
                    message = f"pipeline '{follower.pipeline}' has no param '{key}'{hint}"
                    yield _problem(pf.source, ("then", i, "params", key), message)
                for unknown in sorted(set(names_in(text)) - given):
                    message = f"'{{{{ {unknown} }}}}' is not a param of '{name}'"
                    yield _problem(pf.source, ("then", i, "params", key), message)
        cycle = _chain_cycle(config, name)
        if cycle:
            message = f"what follows '{name}' comes back to it ({' -> '.join(cycle)})"
            yield _problem(pf.source, ("then",), message)


def _chain_cycle(config: Config, start: str) -> list[str]:
    """A chain of followers from `start` back to it, if there is one."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, trail = stack.pop()
        pf = config.pipelines.get(name)
        for follower in pf.pipeline.then if pf else []:
            if follower.pipeline == start:
                return [*trail, start]
            if follower.pipeline not in seen:
                seen.add(follower.pipeline)
                stack.append((follower.pipeline, [*trail, follower.pipeline]))
    return []


def _problem(source: SourceFile, loc: tuple[str | int, ...], message: str) -> Problem:
    return Problem(str(source.path), source.line_of(*loc), path_text(loc), message)


def check_inventory(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    """Unknown groups, environments and jump hosts; group cycles; hosts in two environments."""
    yield from _check_hosts(inv, src)
    yield from _check_groups(inv, src)
    yield from _group_cycles(inv, src)
    yield from _jump_cycles(inv, src)
    yield from _environment_conflicts(inv, src)
    yield from _check_promotions(inv, src)
    yield from _check_notify(inv, src)


def _check_notify(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    """A notification target's environments are declared and its credentials are secrets."""
    for name, target in inv.notify.items():
        for i, env in enumerate(target.environments):
            if env not in inv.environments:
                yield _unknown_env(inv, src, ("notify", name, "environments", i), env)
        named: list[tuple[tuple[str | int, ...], str | None]] = [
            (("notify", name, "token"), target.token)
        ]
        if target.email is not None:
            named.append((("notify", name, "email", "password"), target.email.password))
        for loc, secret in named:
            if secret is not None and secret not in inv.secrets:
                hint = did_you_mean(secret, inv.secrets) or "; declare it in [secrets]"
                yield _problem(src, loc, f"unknown secret '{secret}'{hint}")


def _check_promotions(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    """A promotion names another environment that is declared."""
    for name, env in inv.environments.items():
        rule = env.requires
        if rule is None:
            continue
        loc = ("environments", name, "requires", "environment")
        if rule.environment == name:
            yield _problem(
                src,
                loc,
                f"environment '{name}' cannot require itself; name the environment before it",
            )
        elif rule.environment not in inv.environments:
            yield _unknown_env(inv, src, loc, rule.environment)


def _check_hosts(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    for name, host in inv.hosts.items():
        for i, group in enumerate(host.groups):
            if group not in inv.groups:
                hint = did_you_mean(group, inv.groups)
                yield _problem(src, ("hosts", name, "groups", i), f"unknown group '{group}'{hint}")
        if host.proxy_jump and host.proxy_jump not in inv.hosts:
            hint = did_you_mean(host.proxy_jump, inv.hosts)
            message = f"unknown jump host '{host.proxy_jump}'{hint}"
            yield _problem(src, ("hosts", name, "proxy_jump"), message)
        if host.environment and host.environment not in inv.environments:
            yield _unknown_env(inv, src, ("hosts", name, "environment"), host.environment)


def _check_known_hosts(inv: Inventory, src: SourceFile, base: Path) -> Iterator[Problem]:
    """known_hosts files that another account could have written are refused."""
    where: dict[str, tuple[str | int, ...]] = {inv.ssh.known_hosts: ("ssh", "known_hosts")}
    for name, host in inv.hosts.items():
        if host.known_hosts:
            where.setdefault(host.known_hosts, ("hosts", name, "known_hosts"))
    for text, loc in where.items():
        path = Path(text).expanduser()
        why = untrusted(path if path.is_absolute() else base / path)
        if why:
            yield _problem(src, loc, f"the known_hosts file {text} is refused: {why}")


def _check_groups(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    for name, group in inv.groups.items():
        for i, child in enumerate(group.children):
            if child not in inv.groups:
                hint = did_you_mean(child, inv.groups)
                yield _problem(
                    src, ("groups", name, "children", i), f"unknown group '{child}'{hint}"
                )
        if group.environment and group.environment not in inv.environments:
            yield _unknown_env(inv, src, ("groups", name, "environment"), group.environment)


def _unknown_env(inv: Inventory, src: SourceFile, loc: tuple[str | int, ...], env: str) -> Problem:
    hint = did_you_mean(env, inv.environments) or (
        f"; declare it as [environments.{env}]"
        if not inv.environments
        else f"; the environments are {', '.join(inv.environments)}"
    )
    return _problem(src, loc, f"unknown environment '{env}'{hint}")


def _group_cycles(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    reported: set[frozenset[str]] = set()
    for start in inv.groups:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            children = inv.groups[node].children if node in inv.groups else []
            for child in children:
                if child == start:
                    cycle = frozenset(trail)
                    if cycle not in reported:
                        reported.add(cycle)
                        loop = " -> ".join([*trail, start])
                        yield _problem(
                            src,
                            ("groups", start, "children"),
                            f"groups nest in a cycle ({loop}); remove one of these children",
                        )
                elif child not in trail and child in inv.groups:
                    stack.append((child, [*trail, child]))


def _jump_cycles(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    for name in inv.hosts:
        seen = [name]
        current = inv.hosts[name].proxy_jump
        while current and current in inv.hosts:
            if current in seen:
                loop = " -> ".join([*seen, current])
                yield _problem(
                    src, ("hosts", name, "proxy_jump"), f"jump hosts form a loop ({loop}); break it"
                )
                break
            seen.append(current)
            current = inv.hosts[current].proxy_jump


def _environment_conflicts(inv: Inventory, src: SourceFile) -> Iterator[Problem]:
    for name in inv.hosts:
        envs = resolve.host_environments(inv, name)
        if len(envs) > 1:
            yield _problem(
                src,
                ("hosts", name, "groups"),
                f"host '{name}' is in groups of different environments "
                f"({', '.join(sorted(envs))}); a host belongs to one environment",
            )


def check_pipeline(inv: Inventory, pf: PipelineFile, base: Path) -> Iterator[Problem]:
    """Unknown targets and template names, params whose defaults are invalid, missing files."""
    pipe, src = pf.pipeline, pf.source
    for i, pattern in enumerate(pipe.targets):
        if not resolve.is_known_pattern(inv, pattern):
            hint = did_you_mean(pattern, [*inv.groups, *inv.hosts])
            yield _problem(src, ("targets", i), f"unknown group or host '{pattern}'{hint}")
    if pipe.environment and pipe.environment not in inv.environments:
        yield _unknown_env(inv, src, ("environment",), pipe.environment)
    for name, param in pipe.params.items():
        if param.default is not None:
            try:
                coerce(name, param, param.default)
            except ParamError as exc:
                yield _problem(src, ("params", name, "default"), f"the default is invalid: {exc}")
    targets = resolve.select(inv, pipe.targets)
    for s, stage in enumerate(pipe.stages):
        for group in ("steps", "on_failure"):
            for i, step in enumerate(getattr(stage, group)):
                yield from _check_step(inv, pf, base, targets, step, ("stages", s, group, i))


def _check_step(
    inv: Inventory,
    pf: PipelineFile,
    base: Path,
    targets: list[str],
    step: Step,
    loc: tuple[str | int, ...],
) -> Iterator[Problem]:
    src = pf.source
    for i, pattern in enumerate(step.hosts or []):
        if not resolve.is_known_pattern(inv, pattern):
            hint = did_you_mean(pattern, [*inv.groups, *inv.hosts])
            yield _problem(src, (*loc, "hosts", i), f"unknown group or host '{pattern}'{hint}")
    hosts = resolve.select(inv, step.hosts) if step.hosts else targets
    var_names = _common_vars(inv, [h for h in hosts if h in targets] or targets)
    params = set(pf.pipeline.params)
    secrets = set(inv.secrets)
    for i, argv in enumerate(step.local_checks or []):
        for name in sorted({n for word in argv for n in names_in(word)} - params):
            message = f"a bastion check may use only the run's params, not '{{{{ {name} }}}}'"
            yield _problem(src, (*loc, "local_checks", i), message)
    if step.transfer is not None and not names_in(step.transfer.source):
        _, why = resolve.transfer_source(inv, step.transfer.source, targets)
        if why:
            yield _problem(src, (*loc, "transfer", "from"), why)
    for key, text in _templated_fields(step):
        if key[0] not in ("run", "check", "checks") and secrets_in(text):
            message = "secrets may be used only in run and check commands"
            yield _problem(src, (*loc, *key), message)
            continue
        # a transfer's `src` is a path on its source host, any of the targets
        known_vars = _any_vars(inv, targets) if key == ("transfer", "src") else var_names
        for name in unknown_names(text, params, known_vars, secrets):
            known = [
                *params,
                "host.name",
                "host.address",
                *(f"vars.{v}" for v in known_vars),
                *(f"secret.{n}" for n in secrets),
            ]
            yield _problem(
                src, (*loc, *key), f"unknown template name '{name}'{did_you_mean(name, known)}"
            )
        if key[0] in ("run", "check"):
            for quoted in quoted_templates(text):
                yield _problem(
                    src,
                    (*loc, *key),
                    f"{quoted} is inside quotes; values are quoted for the shell already, "
                    "so remove the quotes around it",
                )
    if step.script is not None:
        yield from _check_script(src, base, step.script, (*loc, "script"))


def _check_script(
    src: SourceFile, base: Path, script: str, loc: tuple[str | int, ...]
) -> Iterator[Problem]:
    """A script must exist, and no other account may be able to change what it says."""
    path = base / script
    if not path.is_file():
        yield _problem(
            src,
            loc,
            f"the script '{script}' does not exist "
            f"(local paths are relative to the inventory's folder, {base})",
        )
        return
    why = untrusted(path)
    if why:
        yield _problem(src, loc, f"the script '{script}' is refused: {why}")


def _templated_fields(step: Step) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for kind in ("run", "check", "gate"):
        value = getattr(step, kind)
        if value is not None:
            yield (kind,), value
    for i, command in enumerate(step.checks or []):
        yield ("checks", i), command
    for kind in ("upload", "download", "transfer"):
        transfer = getattr(step, kind)
        if transfer is not None:
            yield (kind, "src"), transfer.src
            yield (kind, "dest"), transfer.dest
    if step.transfer is not None:
        yield ("transfer", "from"), step.transfer.source


def _any_vars(inv: Inventory, hosts: list[str]) -> set[str]:
    return {name for h in hosts for name in resolve.host_vars(inv, h)}


def _common_vars(inv: Inventory, hosts: list[str]) -> set[str]:
    sets = [set(resolve.host_vars(inv, h)) for h in hosts]
    return set.intersection(*sets) if sets else set()
