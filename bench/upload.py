"""Upload benchmark: what binding an upload's source to the approval costs, side by side.

An upload step sends one local file to every host (through the local sshd), as `opsconsole
run` in the foreground, timed whole: the launch binds the file (hashes it once) and each host's
transfer hashes the bytes as it streams them. `--against SRC` adds an earlier opsconsole (the
`src` folder of a checkout of it) as a second contender; rounds alternate between the two.

    .venv/bin/python -m bench.upload --rounds 5 --against ../before/src
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import Estate, write_estate
from tests.sshd import Sshd, start_sshd

from bench import SRC, add_against

CASES = ((1, 1 << 30), (20, 100 << 20))
"""(hosts, bytes of the file): one large image to one host, a release to twenty."""


def write_case(root: Path, sshd: Sshd, hosts: int, size: int) -> Estate:
    """An estate whose `ship` pipeline uploads a file of `size` bytes to every host."""
    estate = write_estate(root, sshd, hosts=hosts)
    block = os.urandom(1 << 20)
    with (estate.root / "image.raw").open("wb") as out:
        for _ in range(size >> 20):
            out.write(block)
    estate.pipeline(
        "ship",
        f"""
        name = "ship"
        targets = ["all"]
        [[stages]]
        name = "deliver"
          [[stages.steps]]
          name = "image"
          upload = {{ src = "image.raw", dest = "{estate.work}/{{{{ host.name }}}}.raw" }}
        """,
    )
    return estate


def timed(estate: Estate, src: Path, store: str) -> float:
    """Seconds of one `opsconsole run ship`, launch included, with the code in `src`."""
    command = [sys.executable, "-m", "console", "run", "ship", "--plain"]
    command += ["--inventory", str(estate.inventory), "--store", str(estate.root / store)]
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    add_against(parser)
    args = parser.parse_args()
    codes = {"now": SRC}
    if args.against:
        codes["before"] = args.against
    root = Path(tempfile.mkdtemp(prefix="upload-"))
    sshd = start_sshd(root / "sshd")
    times: dict[tuple[int, int, str], list[float]] = {}
    try:
        for hosts, size in CASES:
            estate = write_case(root / f"{hosts}", sshd, hosts, size)
            names = list(codes)
            for label in names:  # warm-up: page cache, bytecode
                timed(estate, codes[label], f"{label}.db")
            for r in range(args.rounds):
                for label in names[r % len(names) :] + names[: r % len(names)]:
                    took = timed(estate, codes[label], f"{label}.db")
                    times.setdefault((hosts, size, label), []).append(took)
            shutil.rmtree(estate.root)
    finally:
        sshd.process.terminate()
        shutil.rmtree(root, ignore_errors=True)
    print("| hosts | file | code | median s | min s | max s |\n|---:|---:|---|---:|---:|---:|")
    for (hosts, size, label), values in times.items():
        print(
            f"| {hosts} | {size >> 20} MiB | {label} | {statistics.median(values):.2f} | "
            f"{min(values):.2f} | {max(values):.2f} |"
        )


if __name__ == "__main__":
    main()
