"""SMS through Twilio's Messages API (or any service that speaks its REST shape)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from worker.channels import raise_for_answer


@dataclass(frozen=True)
class TwilioProvider:
    account_sid: str
    auth_token: str
    sender: str  # a Twilio number or messaging service SID
    status_callback: str  # where Twilio posts delivery receipts
    client: httpx.Client
    base_url: str = "https://api.twilio.com"

    def send_sms(self, message_id: str, to: str, text: str) -> str | None:
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        sender = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
        response = self.client.post(
            url,
            auth=(self.account_sid, self.auth_token),
            data={
                "To": to,
                sender: self.sender,
                "Body": text,
                "StatusCallback": self.status_callback,
            },
            # Twilio de-duplicates nothing; our delivery ledger keeps a retry from sending twice.
            headers={"I-Twilio-Idempotency-Token": message_id},
        )
        raise_for_answer(response)
        sid = response.json().get("sid")
        return str(sid) if sid else None
