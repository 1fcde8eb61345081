"""Themes load from files, keep text readable (WCAG AA) and are remembered."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.ui.themes import load_themes, remembered_theme


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_three_themes_ship_from_the_top_level_themes_folder() -> None:
    """The repository keeps them in `themes/`; the package carries the same files (a wheel
    holds them as files: `console/ui/themes/*.toml`)."""
    from importlib.resources import files

    assert {t.name for t in load_themes()} == {
        "opsconsole-dark",
        "opsconsole-light",
        "opsconsole-high-contrast",
    }
    top = Path(__file__).resolve().parents[2] / "themes"
    kept = {p.name: p.read_bytes() for p in top.glob("*.toml")}
    packaged = files("console.ui.themes")
    carried = {p.name: p.read_bytes() for p in packaged.iterdir() if p.name.endswith(".toml")}
    assert kept and carried == kept


@pytest.mark.parametrize("theme", load_themes(), ids=lambda t: t.name)
def test_text_meets_wcag_aa_on_every_background(theme) -> None:
    for background in (theme.background, theme.surface, theme.panel):
        assert _contrast(theme.foreground, background) >= 4.5
    for status in (theme.success, theme.warning, theme.error):
        assert _contrast(status, theme.background) >= 4.5


async def test_theme_chosen_in_the_console_is_remembered(
    console_app, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    app = console_app()
    async with app.run_test() as pilot:
        assert app.theme == "opsconsole-dark"
        app.theme = "opsconsole-light"
        await pilot.pause()
    assert remembered_theme() == "opsconsole-light"
    again = console_app()
    async with again.run_test():
        assert again.theme == "opsconsole-light"


async def test_the_theme_palette_offers_the_projects_themes_first(console_app) -> None:
    app = console_app()
    async with app.run_test(size=(100, 30)) as pilot:
        while not app.ready:
            await pilot.pause(0.05)
        app.search_themes()
        for _ in range(100):
            await pilot.pause(0.05)
            lists = app.screen.query("CommandList")
            if lists and lists.first().option_count > 3:
                break
        shown = lists.first()
        first = [str(shown.get_option_at_index(i).prompt) for i in range(3)]
        assert first == ["opsconsole-dark", "opsconsole-high-contrast", "opsconsole-light"]
        assert shown.option_count > 3  # Textual's own themes follow


@pytest.mark.parametrize("command", ["demo", "replay"])
def test_every_full_screen_command_takes_the_consoles_theme(command: str) -> None:
    from console.cli import build_parser
    from console.cli.options import settings_of

    argv = [command, *(["last"] if command == "replay" else []), "--theme", "opsconsole-light"]
    assert settings_of(build_parser().parse_args(argv)).theme == "opsconsole-light"
    before = ["--theme", "opsconsole-light", command, *(["last"] if command == "replay" else [])]
    assert settings_of(build_parser().parse_args(before)).theme == "opsconsole-light"


def test_an_operators_own_theme_is_offered_and_a_broken_one_is_refused_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.cli import main
    from console.ui.themes import check_theme

    folder = tmp_path / "config" / "opsconsole" / "themes"  # XDG_CONFIG_HOME is tmp/config
    folder.mkdir(parents=True)
    (folder / "site.toml").write_text(
        'name = "mercy-site"\nprimary = "#004B87"\nbackground = "#FFFFFF"\ndark = false\n'
    )
    names = [t.name for t in load_themes()]
    assert names[:3] == ["opsconsole-dark", "opsconsole-high-contrast", "opsconsole-light"]
    assert names[3] == "mercy-site"
    check_theme("mercy-site")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other"))  # files are read once
    folder = tmp_path / "other" / "opsconsole" / "themes"
    folder.mkdir(parents=True)
    (folder / "typo.toml").write_text('name = "typo"\nprimary = "#004B87\n')
    code = main(["replay", "last", "--theme", "mercy-site", "--store", str(tmp_path / "s.db")])
    said = capsys.readouterr().err
    assert code == 2 and "Traceback" not in said
    assert f"{folder / 'typo.toml'}:2" in said and "nothing was run" in said
