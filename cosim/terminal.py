"""Text from inputs made safe for the terminal: names (scenario, sweep, region, site, tier,
mask, policy), file names and messages quoting them reach the console with no control
character (an ESC sequence, a carriage return, a backspace, NUL, a bidi override) and no
rich markup (``[red]``, ``[link=...]``) of theirs.

A control character is shown as its escape (``\\x1b``, ``\\r``, ``\\u202e``), so the text
stays readable and what the input holds is visible; markup is escaped, so ``[bold]x[/]``
prints as itself.
"""
from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
"""C0 and C1 controls (newline and tab included: a name or a message is one line), DEL,
and the Unicode direction marks and overrides that reorder what the terminal shows."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\x00": "\\x00"}


def _shown(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: object) -> str:
    """*text* (str() of it) with every control character replaced by its visible escape
    (``\\x1b``): for plain-text output (log lines, warnings), where markup means nothing."""
    return _CONTROL.sub(lambda m: _shown(m.group()), str(text))


def safe(text: object) -> str:
    """*text* ready to sit inside rich markup: control characters made visible
    (:func:`visible`) and its own markup escaped (``rich.markup.escape``)."""
    return escape(visible(text))
