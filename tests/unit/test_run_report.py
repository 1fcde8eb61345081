"""`opsconsole export RUN --format md|html`: the run's report for a change record."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from console import events as ev
from console.cli import main
from tests.ui import seed

RUN = "20261117-110000-cccc"  # waits at its change-board gate in the seed
REASON = "CAB ok <script>alert(1)</script> | [click](http://evil) *now*"


def _decided(tmp_path: Path) -> Path:
    """The seeded gate approved with a hostile reason, the run then ended."""
    path = tmp_path / "store.db"
    store = seed.estate(path)
    at = seed.T0 + 7300
    store.append(
        [
            ev.GateDecided(
                run_id=RUN,
                at=at,
                stage="approval",
                step="change board",
                decision="approve",
                actor="dana",
                reason=REASON,
                ticket="CHG-1042",
                plan_digest="ab12" * 16,
            ),
            ev.GateClosed(
                run_id=RUN, at=at + 1, stage="approval", step="change board", outcome="approved"
            ),
            ev.RunFinished(run_id=RUN, at=at + 60, status="succeeded"),
        ]
    )
    store.close()
    return path


def _export(path: Path, fmt: str) -> str:
    out = path.parent / f"report.{fmt}"
    assert main(["export", RUN, "--format", fmt, "--out", str(out), "--store", str(path)]) == 0
    return out.read_text()


def test_markdown_report_names_everything_a_change_record_needs(tmp_path: Path) -> None:
    text = _export(_decided(tmp_path), "md")
    assert text.startswith(f"# Run {RUN}: deploy-ehr-web")
    for expected in (
        "- **Outcome:** ✓ succeeded",
        "- **Launched by:** bob",
        "- **Params:** version=4.2.0",
        "- **Targets:** 2 hosts: ehr-web-stg-01, ehr-web-stg-02",
        "## Timeline",
        "## Hosts",
        "| ehr-web-stg-01 | skipped | rollout / switch | - |",  # the seed never ran rollout
        "## Approvals",
        "| approval / change board | approved | dana | approve |",
        "CHG-1042",
        "ab12ab12ab12",
    ):
        assert expected in text, expected
    assert "<script>" not in text and "](http" not in text and "\\| \\[click\\]" in text


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_shows_hostile_text_as_text(tmp_path: Path) -> None:
    page = _Elements()
    page.feed(_export(_decided(tmp_path), "html"))
    assert "script" not in page.tags and "a" not in page.tags
    text = "".join(page.text)
    assert REASON in text and "CHG-1042" in text and "succeeded" in text
    assert page.tags.count("table") == 3


def test_host_belongs_to_recordings_only(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _decided(tmp_path)
    args = ["export", RUN, "--format", "md", "--host", "h1", "--store", str(path)]
    assert main(args) == 2
    assert "use it with --format cast" in capsys.readouterr().err


def test_the_report_names_the_run_that_let_it_in_and_what_followed(tmp_path: Path) -> None:
    from console import events as ev
    from console.ops.runs import read_state
    from console.render.report import markdown

    store = seed.estate(tmp_path / "store.db")
    met = {"environment": "staging", "run": "20261117-090000-aaaa", "same": {"version": "4.2.0"}}
    seed.launch(
        store,
        "20261117-120000-prod",
        seed.T0 + 7210,
        env="prod",
        promotion={"prod": {**met, "succeeded_at": seed.T0 + 30}},
        follows="20261117-090000-aaaa",
    )
    store.append(
        [
            ev.FollowerRefused(
                run_id="20261117-120000-prod",
                at=seed.T0 + 7300,
                pipeline="tell",
                reason="param 'who' is required",
            )
        ]
    )
    text = markdown(read_state(store, "20261117-120000-prod"))
    said = "- **Promoted:** prod: staging run 20261117-090000-aaaa succeeded first \\(version=4.2.0"
    assert said in text  # Markdown's brackets escaped
    assert "- **Follows:** run 20261117-090000-aaaa" in text
    assert "- **Then:** tell: not launched — param 'who' is required" in text
