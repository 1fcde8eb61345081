"""A flood of output: 1 GB from one host, a 100 MB line and invalid UTF-8 among it.

The runner reads no faster than the store writes, so its memory stays bounded; the console
open on the run keeps answering keys throughout and shows the long line cut, with a mark.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from pathlib import Path

from console.render.display import cut_mark
from console.state import FINAL_RUN, RunState
from tests.conftest import Estate, write_estate
from tests.helpers import spawn_cli, state_of
from tests.pty import Terminal, memory_kib
from tests.sshd import Sshd

OPSCONSOLE = str(Path(sys.executable).with_name("opsconsole"))
LINES_BYTES = 900_000_000
LONG_LINE = 100_000_000
BAD = b"bad \xff\xfe bytes\n"
END = b"\nflood done\n"

FLOOD = r"""
if [ "$1" = h1 ]; then
  yes 'flood line of text, about sixty bytes long, to fill the store up' | head -c {lines}
  printf 'bad \377\376 bytes\n'
  head -c {long} /dev/zero | tr '\0' a
  printf '\nflood done\n'
  sleep {pause}
  touch {work}/flood-done
else
  i=0
  while [ ! -e {work}/flood-done ]; do i=$((i+1)); echo "steady $i"; sleep 0.2; done
fi
"""

PIPELINE = """
name = "flood"
targets = ["all"]
[[stages]]
name = "s"
  [[stages.steps]]
  name = "flood"
  run = "sh {{ vars.work }}/flood.sh {{ host.name }}"
  timeout = "10m"
"""

NEEDS_DISK = 3 << 30
RUNNER_PEAK_MIB = 256
CONSOLE_PEAK_MIB = 300


def write_flood(
    estate: Estate, lines: int = LINES_BYTES, long: int = LONG_LINE, pause: int = 0
) -> None:
    """The flood pipeline: h1 prints `lines` bytes of lines, then a `long` line, then waits
    `pause` seconds; the other hosts print a line every 0.2 s until h1 is done."""
    script = FLOOD.format(lines=lines, long=long, pause=pause, work=estate.work)
    (estate.work / "flood.sh").write_text(script)
    estate.pipeline("flood", PIPELINE)


def _stored(estate: Estate, host: str) -> tuple[int, bool]:
    """Bytes of output the store holds for a host, and whether the invalid bytes are there raw."""
    db = sqlite3.connect(estate.store)
    try:
        total, bad = db.execute(
            "SELECT sum(length(blob)), max(instr(blob, ?)) FROM events"
            " WHERE kind = 'output' AND host = ?",
            (BAD, host),
        ).fetchone()
    finally:
        db.close()
    return int(total or 0), bool(bad)


def test_a_gigabyte_flood_keeps_memory_bounded_and_the_console_answering(
    estate: Estate,
) -> None:
    free = shutil.disk_usage(estate.root).free
    assert free >= NEEDS_DISK, (
        f"the flood stores 1 GB and its WAL: needs 3 GB free, {free >> 20} MiB here"
    )
    write_flood(estate)
    launched = spawn_cli(estate, "run", "flood", "--detach")
    assert launched.returncode == 0, launched.stderr
    run_id = launched.stdout.strip()
    term = Terminal(
        [OPSCONSOLE, "--inventory", str(estate.inventory), "--store", str(estate.store)],
        XDG_CONFIG_HOME=str(estate.root / "console"),
    )
    try:
        term.wait_for("Quit", term.started)
        time.sleep(0.5)  # the inventory loads behind the first frame
        term.wait_for("output of", term.press("\t\r"), timeout=20)  # the newest run
        time.sleep(0.5)
        term.wait_for("h1 · flood", term.press("l"), timeout=20)
        answered, runner_peak, host = 0, 0, "h1"
        while state_of(estate, run_id).status not in FINAL_RUN:
            runner = state_of(estate, run_id).runner_pid or 0
            runner_peak = max(runner_peak, memory_kib(runner, "VmHWM") // 1024)
            key, host = ("j", "h2") if host == "h1" else ("k", "h1")
            term.wait_for(f"{host} · flood", term.press(key), timeout=20)  # keys still answer
            answered += 1
            time.sleep(0.3)
        assert state_of(estate, run_id).status == "succeeded"
        if host == "h1":
            term.wait_for("h2 · flood", term.press("j"), timeout=20)
        mark = cut_mark(4000).split("[", 1)[1][:30]  # as much as fits the screen
        term.wait_for(mark, term.press("k"), timeout=20)
        console_peak = term.memory_kib("VmHWM") // 1024
    finally:
        term.close()
    assert answered >= 3, "the flood ended before the console was asked anything"
    assert 0 < runner_peak < RUNNER_PEAK_MIB, f"the runner peaked at {runner_peak} MiB"
    assert console_peak < CONSOLE_PEAK_MIB, f"the console peaked at {console_peak} MiB"
    stored, bad_bytes_raw = _stored(estate, "h1")
    assert stored == LINES_BYTES + len(BAD) + LONG_LINE + len(END)
    assert bad_bytes_raw


MANY_HOSTS = 200
EACH_BYTES = 3_000_000
MANY_PEAK_MIB = 400
"""Windows of a fixed size, 2 MiB, let 200 flooding channels hold 700 MiB and more."""


def write_many(estate: Estate, each: int) -> None:
    """The `many` pipeline: every host prints `each` bytes of lines as fast as it can."""
    estate.pipeline(
        "many",
        f"""
        name = "many"
        targets = ["all"]
        [[stages]]
        name = "s"
          [[stages.steps]]
          name = "flood"
          run = "yes 'flood line of text, about sixty bytes long' | head -c {each}"
        """,
    )


def run_many(estate: Estate) -> tuple[RunState, int]:
    """Run `many` detached; its final state and the runner's peak resident MiB."""
    launched = spawn_cli(estate, "run", "many", "--detach")
    assert launched.returncode == 0, launched.stderr
    run_id, peak = launched.stdout.strip(), 0
    while (state := state_of(estate, run_id)).status not in FINAL_RUN:
        peak = max(peak, memory_kib(state.runner_pid or 0, "VmHWM") // 1024)
        time.sleep(0.1)
    return state, peak


def test_many_hosts_flooding_at_once_share_one_bound(tmp_path: Path, sshd: Sshd) -> None:
    estate = write_estate(tmp_path, sshd, hosts=MANY_HOSTS)
    write_many(estate, EACH_BYTES)
    state, peak = run_many(estate)
    assert state.status == "succeeded"
    assert 0 < peak < MANY_PEAK_MIB, f"the runner peaked at {peak} MiB"
    db = sqlite3.connect(estate.store)
    try:
        (total,) = db.execute(
            "SELECT sum(length(blob)) FROM events WHERE kind = 'output'"
        ).fetchone()
    finally:
        db.close()
    assert total == MANY_HOSTS * EACH_BYTES
