"""A send reads as its `sends` claim with its `send_outcomes` outcome applied."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailroom.shared.sends import SendRecord, with_outcome

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _claim(status: str = "sending") -> dict[str, Any]:
    return {
        "_id": "m1",
        "tenant_id": "t1",
        "idempotency_key": "k1",
        "mailbox_id": "mb1",
        "status": status,
        "attempts": 1,
        "smtp_message_id": "<m1@mailroom.test>",
        "lease_owner": "replica-a",
        "lease_until": NOW,
        "created_at": NOW,
        "updated_at": NOW,
        "timeline": [{"at": NOW, "status": "accepted"}, {"at": NOW, "status": status}],
    }


def test_an_open_claim_without_outcome_reads_as_it_is() -> None:
    claim = _claim()
    assert with_outcome(claim, None) == claim


def test_the_outcome_sets_status_fields_and_ends_the_timeline() -> None:
    outcome = {
        "_id": "m1",
        "status": "sent",
        "smtp_reply": "250 2.0.0 Ok",
        "sent_at": NOW,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": NOW,
        "timeline_entry": {"at": NOW, "status": "sent"},
    }
    record = SendRecord.model_validate(with_outcome(_claim(), outcome))
    assert record.status == "sent"
    assert record.smtp_reply == "250 2.0.0 Ok"
    assert record.lease_owner is None
    assert record.smtp_message_id == "<m1@mailroom.test>"  # kept from the claim
    assert [step.status for step in record.timeline] == ["accepted", "sending", "sent"]


def test_a_send_finished_in_sends_ignores_a_stray_outcome() -> None:
    claim = _claim("failed")
    outcome = {"_id": "m1", "status": "sent", "timeline_entry": {"at": NOW, "status": "sent"}}
    assert with_outcome(claim, outcome)["status"] == "failed"
