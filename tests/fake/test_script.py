"""The script format: parsing, defaults, errors that name the line, round trips."""

from __future__ import annotations

import re

import pytest

from pyquorum.fake import Script, ScriptError, Step, example_script
from pyquorum.messages.constants import QuorumType
from pyquorum.messages.types import RingId

TEXT = """
# a comment
{"pyquorum_script": 1, "quorum_type": "free", "model_v1": false, "start": "serve", "name": "x"}
{"members": [1, 2, 3], "quorate": true}

{"at": 0.5, "members": [1, 2]}
{"at": 1.5, "quorate": false}
{"at": 2, "members": [1, 2, 4], "quorate": true, "ring_id": {"nodeid": 2, "seq": 100}}
"""


def test_a_script_file_parses_with_its_defaults() -> None:
    script = Script.parse(TEXT)
    assert script.quorum_type is QuorumType.FREE
    assert script.model_v1 is False and script.start == "serve" and script.name == "x"
    assert script.initial.ring_id == RingId(1, 4)
    first, second, third = script.changes
    assert first.membership and first.state.ring_id == RingId(1, 8)
    assert first.left == (3,) and first.joined == () and first.state.quorate is True
    assert not second.membership and second.state.ring_id == RingId(1, 8)
    assert second.state.quorate is False and second.state.members == (1, 2)
    assert third.state.ring_id == RingId(2, 100) and third.joined == (4,) and third.left == ()
    assert script.final.members == (1, 2, 4) and script.duration == 2.0


def test_dumps_parses_back_to_an_equal_script() -> None:
    script = Script.parse(TEXT)
    assert Script.parse(script.dumps()) == script
    demo = example_script()
    assert Script.parse(demo.dumps()) == demo


def test_the_example_script_is_the_three_node_story() -> None:
    demo = example_script()
    assert demo.initial.members == (1, 2, 3) and demo.initial.quorate
    assert [(c.state.members, c.state.quorate) for c in demo.changes] == [
        ((1, 2), True), ((1,), False), ((1, 2, 3), True),
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # version 2 is a story (tests/fake/test_story.py); 3 does not exist
        ('{"pyquorum_script": 3}\n{"members": [1], "quorate": true}', 1, "pyquorum_script"),
        ('{"pyquorum_script": 1}\n{"members": [1]}', 2, "needs members and quorate"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": 1}', 2, "true or false"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": true}\n{"members": [2]}', 3, "'at'"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": true}\n{"at": 1}', 3, "changes"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": true}\nnope', 3, "not JSON"),
        ('{"pyquorum_script": 1, "colour": 1}\n{"members": [1], "quorate": true}', 1, "colour"),
        ('{"pyquorum_script": 1}\n{"members": [-1], "quorate": true}', 2, "2**32"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": true}\n'
         '{"at": 1, "quorate": true, "left": [1]}', 3, "need members"),
    ],
)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError, match=re.escape(message)) as info:
        Script.parse(text, source="f.jsonl")
    assert f"f.jsonl:{line}:" in str(info.value)


def test_steps_out_of_order_are_refused() -> None:
    with pytest.raises(ScriptError, match="time order"):
        Script.build([1], steps=[Step(2.0, quorate=False), Step(1.0, quorate=True)])


def test_a_missing_file_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match="No such file"):
        Script.load("/nonexistent/script.jsonl")
