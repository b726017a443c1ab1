"""A Babel extractor for the hub's Python code: `tr(lang, "text")` and `N_("text")`, found through the syntax tree
so a call inside an f-string counts too (Babel's own Python extractor cannot see into f-strings before 3.12).

babel.cfg names it; `pybabel extract -F babel.cfg -o hub/locale/messages.pot .` writes the template.
"""
from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

# function name -> index of the argument that is the message
KEYWORDS = {"tr": 1, "N_": 0}


def messages(source: str) -> Iterator[tuple[int, str, str]]:
    """(line, function, msgid) of every marked string literal in `source`."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
        index = KEYWORDS.get(name or "")
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
            yield node.lineno, str(name), arg.value


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
            options: Mapping[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    for line, _name, msgid in messages(fileobj.read().decode(options.get("encoding", "utf-8"))):
        yield line, None, msgid, []  # no function name: the message is taken as is
