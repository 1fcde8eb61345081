"""Colours that cannot hide text: a host's SGR sequences, read as what they do to the
foreground and background, and changed only where text would become unreadable."""

from __future__ import annotations

# Colours. A colour is an int: -1 the terminal's default, 0-255 the xterm palette, 256 + 0xRRGGBB
# a truecolour. An SGR sequence is read as items (kind, colour, text as emitted), so that what
# the host sent passes as it came unless it would hide text.

Colours = tuple[int, int]
"""A foreground and a background."""

MIN_CONTRAST = 1.5
"""The least contrast ratio (WCAG's, between the colours' relative luminances, 1 to 21) at which
text in one colour on another counts as visible; WCAG asks 4.5 of body text, so this catches
only text that is barely there."""

DEFAULT: Colours = (-1, -1)
_FG, _BG, _RESET, _OTHER = range(4)
_Item = tuple[int, int, str]
_Step = tuple[Colours, Colours, str | None]
_STEPS: dict[tuple[Colours, Colours, str], _Step] = {}
_CODES = {0: (_RESET, -1), 39: (_FG, -1), 49: (_BG, -1)}
_CODES.update({30 + n: (_FG, n) for n in range(8)} | {90 + n: (_FG, 8 + n) for n in range(8)})
_CODES.update({40 + n: (_BG, n) for n in range(8)} | {100 + n: (_BG, 8 + n) for n in range(8)})
_ARGUMENTS = {5: 1, 2: 3}
"""How many numbers follow 38;5 (a palette index) and 38;2 (red, green, blue)."""

_ANSI = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip
_CUBE = (0, 95, 135, 175, 215, 255)
_LINEAR = [c / 3294.6 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in range(256)]
"""Each sRGB channel value as linear light, for the luminance."""


def step(wanted: Colours, shown: Colours, params: str) -> _Step:
    """The host's colours after `params`, the colours emitted, and the sequence emitting them
    (None when nothing is left to say); common sequences are remembered."""
    key = (wanted, shown, params)
    found = _STEPS.get(key)
    if found is None:
        found = _sgr_step(*key)
        if len(params) <= 64:  # colours repeat: remember the common sequences, not floods
            if len(_STEPS) >= 4096:
                _STEPS.clear()
            _STEPS[key] = found
    return found


def _sgr_step(wanted: Colours, shown: Colours, params: str) -> _Step:
    """The host's colours after `params`, the colours emitted, and the sequence that emits them."""
    items = _items(params)
    wanted = _apply(wanted, items)
    target = DEFAULT if indistinct(*wanted) else wanted
    if _apply(shown, items) != target:
        items = _repaired(items, shown, target)
    sequence = f"\x1b[{';'.join(text for _, _, text in items)}m" if items else None
    return wanted, target, sequence


def _repaired(items: list[_Item], shown: Colours, target: Colours) -> list[_Item]:
    """The items with the colours that would hide text replaced by `target`'s."""
    result = _apply(shown, items)
    wrong = {kind for kind, i in ((_FG, 0), (_BG, 1)) if result[i] != target[i]}
    kept = [item for item in items if item[0] not in wrong]
    middle = _apply(shown, kept)
    fixes = [(kind, target[i]) for kind, i in ((_FG, 0), (_BG, 1)) if middle[i] != target[i]]
    return kept + [(kind, colour, _code(kind, colour)) for kind, colour in fixes]


def _apply(colours: Colours, items: list[_Item]) -> Colours:
    """The colours after these items."""
    fg, bg = colours
    for kind, colour, _ in items:
        if kind == _RESET:
            fg, bg = DEFAULT
        elif kind == _FG:
            fg = colour
        elif kind == _BG:
            bg = colour
    return fg, bg


def _items(params: str) -> list[_Item]:
    """What an SGR sequence does, leaving out conceal and whatever renderers could read apart."""
    tokens = params.split(";")
    items: list[_Item] = []
    at = 0
    while at < len(tokens):
        used, found = _token(tokens, at)
        items += found
        at += used
    return items


def _token(tokens: list[str], at: int) -> tuple[int, list[_Item]]:
    """The parameter at `at`: how many parameters it takes and what it does."""
    token = tokens[at]
    if ":" in token:
        return 1, _subparameters(token)
    code = _number(token)
    if code in (38, 48, 58):
        return _extended(tokens, at, code)
    if code == 8 or code > 107:  # conceal, or a code no standard gives a meaning to
        return 1, []
    kind, colour = _CODES.get(code, (_OTHER, 0))
    return 1, [(kind, colour, token)]


def _extended(tokens: list[str], at: int, code: int) -> tuple[int, list[_Item]]:
    """38 or 48 (58, the underline colour, Rich reads as other codes: dropped) with its arguments."""
    form = tokens[at + 1] if at + 1 < len(tokens) else ":"
    if ":" in form:
        return 1, []
    count = _ARGUMENTS.get(_number(form), 0)
    used = min(2 + count, len(tokens) - at)
    colour = _colour(_number(form), tokens[at + 2 : at + used])
    if colour is None or code == 58:
        return used, []
    kind = _FG if code == 38 else _BG
    return used, [(kind, colour, ";".join(tokens[at : at + used]))]


def _subparameters(token: str) -> list[_Item]:
    """`38:2::R:G:B`, `48:5:N` in the `;` form every renderer reads alike; `4:N` as it came.

    Rich skips a parameter with colons while terminals obey it, so any other is dropped.
    """
    parts = token.split(":")
    code = _number(parts[0])
    if code == 4 and len(parts) == 2 and parts[1].isdigit():
        return [(_OTHER, 0, token)]
    form, args = _number(parts[1]), parts[2:]
    if form == 2 and len(args) > 3:
        args = args[1:4]  # the ITU form names a colour space first
    colour = _colour(form, args)
    if colour is None or code not in (38, 48):
        return []
    kind = _FG if code == 38 else _BG
    return [(kind, colour, _code(kind, colour))]


def _colour(form: int, args: list[str]) -> int | None:
    """The colour `38;5;N` or `38;2;R;G;B` names, or None if the arguments are not one."""
    if len(args) != _ARGUMENTS.get(form) or not all(args):
        return None
    values = [_number(arg) for arg in args]  # one with a colon is out of range
    if max(values) > 255:
        return None
    if form == 5:
        return values[0]
    red, green, blue = values
    return 256 + (red << 16 | green << 8 | blue)


def _number(token: str) -> int:
    """A parameter's value (empty is 0); one too long to mean anything is out of every range."""
    if len(token) < 10 and token.isdigit():
        return int(token)
    return 0 if not token else 1 << 20


def _code(kind: int, colour: int) -> str:
    """The SGR parameters that set this foreground or background."""
    base = 30 if kind == _FG else 40
    if colour < 0:
        return str(base + 9)
    if colour < 16:  # 30-37 and 90-97, 40-47 and 100-107
        return str(base + colour if colour < 8 else base + 60 + colour - 8)
    if colour < 256:
        return f"{base + 8};5;{colour}"
    rgb = colour - 256
    return f"{base + 8};2;{rgb >> 16};{rgb >> 8 & 255};{rgb & 255}"


def truecolour(red: int, green: int, blue: int) -> int:
    """A colour given as red, green and blue, as this module numbers colours."""
    return 256 + (red << 16 | green << 8 | blue)


def indistinct(fg: int, bg: int) -> bool:
    """Whether text in `fg` on `bg` could not be told from its background.

    The same colour, or the normal and bright forms of one of the 16 (a bold one is often drawn
    bright, and themes pick these freely), or too little contrast in the xterm palette.
    """
    if fg < 0 or bg < 0:
        return False
    if fg == bg or (fg < 16 and bg < 16 and fg % 8 == bg % 8):
        return True
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05) < MIN_CONTRAST


def _luminance(colour: int) -> float:
    """WCAG's relative luminance of a colour, from 0 (black) to 1 (white)."""
    red, green, blue = _rgb(colour)
    return 0.2126 * _LINEAR[red] + 0.7152 * _LINEAR[green] + 0.0722 * _LINEAR[blue]


def _rgb(colour: int) -> tuple[int, int, int]:
    """A colour's red, green and blue, the palette's as xterm draws it by default."""
    if colour >= 256:
        rgb = colour - 256
        return rgb >> 16, rgb >> 8 & 255, rgb & 255
    if colour < 16:
        return _ANSI[colour]
    if colour < 232:
        n = colour - 16
        return _CUBE[n // 36], _CUBE[n // 6 % 6], _CUBE[n % 6]
    grey = 8 + 10 * (colour - 232)
    return grey, grey, grey
