"""event_to_json writes the quorum events directly; the text must be exactly
what json.dumps makes of event_to_dict, for any event."""

from __future__ import annotations

import json

from hypothesis import given

from pyquorum.formatting import event_to_dict, event_to_json
from pyquorum.messages.types import Notification
from pyquorum.testing.strategies import notifications


@given(notifications())
def test_same_text_as_json_dumps(event: Notification) -> None:
    assert event_to_json(event) == json.dumps(event_to_dict(event))
