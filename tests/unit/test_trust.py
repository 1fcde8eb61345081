"""Files that decide what runs are refused when another account could have written them,
tried as a second account on the same machine would: its own files, `mv`, a group, a link."""

from __future__ import annotations

import os
import pwd
import re
import shutil
from pathlib import Path

import pytest

from console.cli import main
from console.model.trust import untrusted
from tests.helpers import SECOND_ACCOUNT, as_account
from tests.sshd import login_user, reach

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="acting as a second account needs root to switch to it"
)
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "sample_inventory.toml").read_text()


@pytest.fixture
def other() -> pwd.struct_passwd:
    """The second account (created when missing, as the sshd fixture would)."""
    login_user()
    return pwd.getpwnam(SECOND_ACCOUNT)


def _estate(folder: Path) -> Path:
    """The sample inventory and pipelines copied into `folder` (a fresh, private folder)."""
    folder.mkdir(mode=0o755)
    reach(folder)  # the second account may look, as on a bastion
    shutil.copytree(ROOT / "pipelines", folder / "pipelines")
    shutil.copytree(ROOT / "scripts", folder / "scripts")
    (folder / "artifacts").mkdir()
    known = folder / "known_hosts"
    known.write_text("")
    text = re.sub(r'(?m)^known_hosts = ".*"$', f'known_hosts = "{known}"', SAMPLE, count=1)
    (folder / "inventory.toml").write_text(text)
    return folder / "inventory.toml"


def _validate(inventory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", "--inventory", str(inventory)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_the_sample_laid_out_privately_is_trusted(tmp_path: Path, capsys) -> None:
    assert _validate(_estate(tmp_path / "ops"), capsys)[0] == 0


def test_a_file_swapped_by_mv_in_a_folder_others_may_write_is_refused(
    tmp_path: Path, other: pwd.struct_passwd, capsys
) -> None:
    inventory = _estate(tmp_path / "ops")
    inventory.parent.chmod(0o777)  # a careless layout: anyone may write beside the inventory
    code, err = _validate(inventory, capsys)
    assert code == 2
    assert (
        f"the inventory file is refused: the folder {inventory.parent} may be written by every "
        "account on this machine, who could replace it; run: chmod go-w" in err
    )
    evil = SAMPLE.replace('roles = ["change-board"]', 'roles = ["change-board", "ops"]')

    def swap() -> None:
        theirs = inventory.parent / ".theirs"
        theirs.write_text(evil)
        os.rename(theirs, inventory)  # `mv`: the inventory is now the co-user's file

    assert as_account(SECOND_ACCOUNT, swap) == 0
    assert inventory.stat().st_uid == other.pw_uid
    inventory.parent.chmod(0o755)  # even with the folder closed again, their file is refused
    code, err = _validate(inventory, capsys)
    assert code == 2
    assert f"its owner {SECOND_ACCOUNT} (uid {other.pw_uid}) could change it" in err
    assert main(["run", "rotate-certificates", "--inventory", str(inventory)]) == 2


def test_a_group_with_another_member_may_not_write_a_pipeline(
    tmp_path: Path, other: pwd.struct_passwd, capsys
) -> None:
    inventory = _estate(tmp_path / "ops")
    pipeline = inventory.parent / "pipelines" / "deploy-ehr-web.toml"
    os.chown(pipeline, 0, other.pw_gid)  # their primary group: they are in it
    pipeline.chmod(0o664)
    code, err = _validate(inventory, capsys)
    group = f"the group {SECOND_ACCOUNT} ({SECOND_ACCOUNT})"
    assert code == 2 and f"{pipeline}: the pipeline file is refused: {group} could change it" in err
    os.chown(pipeline, 0, 0)  # root's group has nobody else in it: group-writable is harmless
    assert _validate(inventory, capsys)[0] == 0
    os.chown(pipeline.parent, 0, other.pw_gid)
    pipeline.parent.chmod(0o2775)
    code, err = _validate(inventory, capsys)
    assert code == 2 and f"the folder {pipeline.parent} may be written by {group}" in err


def test_a_script_or_known_hosts_another_account_owns_is_refused(
    tmp_path: Path, other: pwd.struct_passwd, capsys
) -> None:
    inventory = _estate(tmp_path / "ops")
    script = inventory.parent / "scripts" / "migrate-ehr-db.sh"
    os.chown(script, other.pw_uid, other.pw_gid)
    code, err = _validate(inventory, capsys)
    assert code == 2 and "the script 'scripts/migrate-ehr-db.sh' is refused: its owner" in err
    os.chown(script, 0, 0)
    known = inventory.parent / "known_hosts"
    os.chown(known, other.pw_uid, other.pw_gid)
    code, err = _validate(inventory, capsys)
    assert code == 2 and f"the known_hosts file {known} is refused: its owner" in err


def test_a_sticky_folder_protects_the_readers_own_files(
    tmp_path: Path, other: pwd.struct_passwd
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    reach(shared).chmod(0o1777)  # as /tmp: anyone may add files, nobody may replace another's
    mine = shared / "inventory.toml"
    mine.write_text(SAMPLE)
    assert untrusted(mine) is None

    def replace() -> None:
        (shared / "x").write_text("evil")
        os.rename(shared / "x", mine)

    assert as_account(SECOND_ACCOUNT, replace) != 0  # the kernel refuses it
    theirs = shared / "x"
    assert theirs.exists() and untrusted(theirs) is not None  # and theirs is not believed


def test_a_link_through_a_folder_others_may_write_is_refused(tmp_path: Path) -> None:
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    (open_folder / "conf").mkdir()
    (open_folder / "conf" / "inventory.toml").write_text(SAMPLE)
    open_folder.chmod(0o777)
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    (mine / "conf").symlink_to(open_folder / "conf")  # my folder, but the path leads there
    why = untrusted(mine / "conf" / "inventory.toml")
    assert why is not None and f"the folder {open_folder} may be written by every account" in why


def test_a_secrets_file_in_a_folder_others_may_write_is_refused(
    tmp_path: Path, other: pwd.struct_passwd
) -> None:
    from console.errors import UsageError
    from console.model.inventory import SecretSource
    from console.secrets import resolve

    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    secret = folder / "db"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    assert resolve("db", SecretSource(file=str(secret)), tmp_path) == "s3cret"
    os.chown(folder, other.pw_uid, other.pw_gid)  # they could swap in a link to any file of mine
    with pytest.raises(UsageError, match=r"secret 'db' is in .*, which is refused: the folder"):
        resolve("db", SecretSource(file=str(secret)), tmp_path)
