"""Patient data patterns from the inventory, masked before output is stored, counted in the trail."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import write_estate
from tests.helpers import cells, run_cli, state_of
from tests.integration.test_secrets import _store_bytes
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
