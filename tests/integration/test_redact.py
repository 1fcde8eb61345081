"""Patient data patterns from the inventory, masked before output is stored, counted in the trail."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path

from console.state import FINAL_RUN
from tests.conftest import Estate, write_estate
from tests.helpers import cells, run_cli, spawn_cli, state_of
from tests.integration.test_secrets import _store_bytes
from tests.pty import memory_kib
from tests.sshd import Sshd

ROOT = Path(__file__).resolve().parents[2]

# No patient data is written here as it is: the store keeps the pipeline's text.
PRINTS = r"""
    name = "results"
    targets = ["h1"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "feed"
      run = '''
    n=DOE
    printf 'MSH|^~\\&|LAB|HOSP|EHR|HOSP|202611280900||ORU^R01|1|P|2.5\r'
    printf 'PID|1||123456^^^HOSP^MR||%s^JANE^Q||19800101|F\rOBX|1|NM|GLU||5.4\n' "$n"
    echo "patient MRN: 00$((123456)) seen"
    printf 'ssn 123-'; sleep 0.4; printf '45-%s on file\n' 6789
    echo "nothing to hide here 2026-11-28"
    '''
"""


def _redact_table() -> str:
    """The sample inventory's own [redact] table: its defaults are what is tested."""
    text = (ROOT / "sample_inventory.toml").read_text()
    start = text.index("[redact]")
    return text[start : text.index("\n\n", start)] + "\n"


def test_patient_data_never_reaches_the_store_and_the_trail_counts_the_masks(
    tmp_path: Path, sshd: Sshd, capsys
) -> None:
    estate = write_estate(tmp_path, sshd, extra=_redact_table())
    estate.pipeline("results", PRINTS)
    assert run_cli(estate, "run", "results", "--plain") == 0
    assert cells(state_of(estate))[("feed", "h1")] == "ok"
    stored = _store_bytes(estate)
    for private in (b"DOE^JANE", b"00123456", b"123-45-6789", b"45-6789"):
        assert private not in stored
    capsys.readouterr()
    assert run_cli(estate, "logs", "last") == 0
    logs = capsys.readouterr().out
    assert "PID|1||123456^^^HOSP^MR||<hl7_pid_name redacted>||19800101" in logs
    assert "MRN: <mrn redacted> seen" in logs and "ssn <us_ssn redacted> on file" in logs
    assert "nothing to hide here 2026-11-28" in logs
    assert run_cli(estate, "audit", "export", "--run", state_of(estate).id) == 0
    records = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    redacted = [r for r in records if r.get("action") == "output_redacted"]
    assert len(redacted) == 1
    assert redacted[0]["details"]["counts"] == {"hl7_pid_name": 1, "mrn": 1, "us_ssn": 1}


FILLS = (30_000_000, 49_999_950)
"""The line's bytes but for the patient data: 80 MB in all."""
LONG = r"""
    name = "long"
    targets = ["h1"]
    [[stages]]
    name = "s"
      [[stages.steps]]
      name = "line"
      run = '''
    head -c {0} /dev/zero | tr '\0' x
    printf ' ssn %s-45-%s ' 123 6789
    head -c {1} /dev/zero | tr '\0' y
    printf ' MRN: 00%s end' $((123456))
    '''
      timeout = "5m"
"""
RUNNER_PEAK_MIB = 200
"""The runner holds about 100 MiB on such a line without [redact]; it once grew past 280."""


def _output_has(estate: Estate, needles: list[bytes]) -> tuple[int, set[bytes]]:
    """The bytes of output stored for h1, and which needles are in them (read in order, so that
    one cut between two events is found too)."""
    db = sqlite3.connect(estate.store)
    total, found, tail = 0, set(), b""
    try:
        rows = db.execute(
            "SELECT blob FROM events WHERE kind = 'output' AND host = 'h1' ORDER BY id"
        )
        for (blob,) in rows:
            total += len(blob)
            window = tail + blob
            found |= {n for n in needles if n in window}
            tail = window[-64:]
    finally:
        db.close()
    return total, found


def test_a_line_of_80_mb_is_masked_in_bounded_memory(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=1, extra=_redact_table())
    estate.pipeline("long", LONG.format(*FILLS))
    launched = spawn_cli(estate, "run", "long", "--detach")
    assert launched.returncode == 0, launched.stderr
    run_id, peak = launched.stdout.strip(), 0
    while (state := state_of(estate, run_id)).status not in FINAL_RUN:
        with contextlib.suppress(ValueError):  # a runner that has just ended has no figure
            peak = max(peak, memory_kib(state.runner_pid or 0, "VmHWM") // 1024)
        time.sleep(0.1)
    assert state.status == "succeeded"
    assert peak < RUNNER_PEAK_MIB, f"the runner peaked at {peak} MiB"
    masks = [b" ssn <us_ssn redacted> ", b" MRN: <mrn redacted> end"]
    total, found = _output_has(estate, [b"123-45-6789", b"00123456", *masks])
    assert found == set(masks)
    assert total == sum(FILLS) + sum(map(len, masks))
