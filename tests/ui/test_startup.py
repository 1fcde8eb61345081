"""What the console's first frame waits for: little to import, no redundant footer rebuilds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from console.ui.widgets.footer import ConsoleFooter
from tests.ui import seed
from tests.ui.test_console import SIZE, _settle

ENGINE = (
    "console.events",
    "console.state",
    "console.store.sqlite",
    "console.ops.decide",
    "console.ops.launch",
    "console.ops.config",
    "console.ops.runner",
    "console.audit",
    "console.policy",
    "console.ui.screens.panes",
    "console.ui.screens.audit",
    "pydantic",
    "asyncssh",
)


def test_the_first_frame_imports_nothing_of_the_engine() -> None:
    """Opening the console loads the app and parses options without the engine or the store."""
    probe = (
        "import sys\n"
        "from console.cli import build_parser\n"
        "build_parser().parse_args(['--inventory', 'x.toml'])\n"
        "import console.ui.app\n"
        "import console.cli.console\n"
        "from pathlib import Path\n"
        "from console.settings import Settings\n"
        "from console.ui import make_app\n"
        "make_app(lambda: None, Settings(Path('x.toml'), None, Path('s.db'), 'op', None))\n"
        f"print(' '.join(m for m in {ENGINE!r} if m in sys.modules))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert found == []


async def test_hidden_panes_are_built_once_the_footer_shows_its_keys(
    console_app, tmp_path: Path
) -> None:
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(  # each placeholder leaves once its pane is in: wait for both
            pilot,
            lambda: (
                all(app.query(p) for p in ("RunPane", "GatesPane", "AuditPane"))
                and not app.query("Deferred")
            ),
        )
        assert app.query_one(ConsoleFooter).query("FooterKey")


async def test_the_footer_keeps_its_keys_when_they_do_not_change(
    console_app, tmp_path: Path
) -> None:
    """Bindings refreshed with the same keys (the cursor moving in a table, a run's state
    changing) do not rebuild the footer."""
    seed.estate(tmp_path / "store.db")
    app = console_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        footer = app.query_one(ConsoleFooter)
        before = list(footer.query("FooterKey"))
        assert before
        await pilot.press("down")
        app.refresh_bindings()
        await pilot.pause(0.3)
        assert app.focused is app.query_one("#pipelines")
        assert list(footer.query("FooterKey")) == before
        await pilot.press("2")  # the run view adds its own keys: now it is rebuilt
        await pilot.pause(0.5)
        assert list(footer.query("FooterKey")) != before
