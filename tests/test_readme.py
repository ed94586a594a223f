"""The README's Python examples run as shown, against a live corosync."""

from __future__ import annotations

import contextlib
import io
import re
import threading
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, corosync_node_any: Any) -> None:
    out = io.StringIO()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with corosync_node_any.netns_context(), contextlib.redirect_stdout(out):
                exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})
        except BaseException as exc:
            errors.append(exc)

    # A thread, so that an example that would block forever fails the test instead.
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "README example did not finish within 30 s"
    assert not errors, errors
    text = out.getvalue()
    assert "quorate" in text
