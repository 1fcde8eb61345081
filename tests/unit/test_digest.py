"""The plan digest: each part an approval is bound to changes it; nothing else does."""

from __future__ import annotations

import textwrap
from pathlib import Path

from console.engine.digest import changes, current_parts, digest_of, digest_parts
from console.engine.plan import bound, plan_run
from console.model.load import load_config

INVENTORY = """
[inventory]
name = "t"
[ssh]
user = "deploy"
known_hosts = "known_hosts"
[environments.prod]
approvals = 1
[operators.alice]
roles = ["ops"]
[groups.web]
environment = "prod"
[hosts.web1]
address = "10.0.0.1"
groups = ["web"]
"""
PIPELINE = """
name = "p"
targets = ["web"]
[[stages]]
name = "s"
  [[stages.steps]]
  name = "x"
  run = "echo {{ version }}"
[params.version]
default = "1"
"""


def _plan(root: Path, version: str = "1"):  # type: ignore[no-untyped-def]
    config = load_config(root / "inventory.toml")
    return bound(plan_run(config, "p", {"version": version}, "alice"))


def test_each_part_moves_the_digest(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "inventory.toml").write_text(textwrap.dedent(INVENTORY))
    (tmp_path / "pipelines" / "p.toml").write_text(textwrap.dedent(PIPELINE))
    plan = _plan(tmp_path)
    base = digest_parts(plan.config, plan)
    assert base["targets"] == {"web1": "10.0.0.1:22"} and base["host_keys"] == {"web1": []}
    assert digest_of(current_parts(plan).parts) == digest_of(base)  # nothing changed: same digest
    other = _plan(tmp_path, "2")
    assert digest_of(digest_parts(other.config, other)) != digest_of(base)  # params
    (tmp_path / "known_hosts").write_text(
        "10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    keyed = current_parts(plan).parts
    assert changes(base, keyed) == "a host key changed"
    (tmp_path / "inventory.toml").write_text(
        textwrap.dedent(INVENTORY).replace("10.0.0.1", "10.0.0.9")
    )
    moved = current_parts(plan).parts
    assert "the target hosts changed" in changes(keyed, moved)
    (tmp_path / "pipelines" / "p.toml").write_text(
        textwrap.dedent(PIPELINE).replace("echo", "printf")
    )
    assert "the pipeline file changed" in changes(moved, current_parts(plan).parts)
    (tmp_path / "inventory.toml").write_text("broken = ")
    broken = current_parts(plan)
    assert broken.config is None and "no longer loads" in changes(moved, broken.parts)


FILES = (
    PIPELINE
    + """
[[stages]]
name = "ship"
  [[stages.steps]]
  name = "tool"
  script = "scripts/tool.sh"
  [[stages.steps]]
  name = "release"
  upload = { src = "artifacts/{{ version }}.tar", dest = "/srv/app.tar" }
"""
)


def test_each_file_the_run_reads_is_named_with_its_old_and_new_digest(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "pipelines").mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "inventory.toml").write_text(textwrap.dedent(INVENTORY))
    (tmp_path / "pipelines" / "p.toml").write_text(textwrap.dedent(FILES))
    (tmp_path / "scripts" / "tool.sh").write_bytes(b"echo one\n")
    (tmp_path / "artifacts" / "1.tar").write_bytes(b"release one")
    plan = _plan(tmp_path)
    assert plan.files.contents == {hashlib.sha256(b"echo one\n").hexdigest(): b"echo one\n"}
    base = digest_parts(plan.config, plan)
    old = hashlib.sha256(b"release one").hexdigest()
    assert base["uploads"] == {"artifacts/1.tar": old}
    (tmp_path / "artifacts" / "1.tar").write_bytes(b"release two")
    new = hashlib.sha256(b"release two").hexdigest()
    now = current_parts(plan)
    assert now.files is not None and now.files.uploads["artifacts/1.tar"].sha256 == new
    assert changes(base, now.parts) == f"artifacts/1.tar (sha256 {old[:16]}… → {new[:16]}…) changed"
    (tmp_path / "scripts" / "tool.sh").write_bytes(b"echo two\n")
    said = changes(base, current_parts(plan).parts)
    assert said.startswith("scripts/tool.sh (sha256 ") and "artifacts/1.tar" in said
    (tmp_path / "artifacts" / "1.tar").unlink()
    gone = current_parts(plan)
    assert gone.config is None
    assert changes(base, gone.parts).startswith("the upload source artifacts/1.tar does not exist")
