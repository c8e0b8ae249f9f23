"""The triggers and journeys the fault tests break things under, as YAML documents;
a test defines the ones it needs, joined with `bundle`."""

from __future__ import annotations

SIGNUP = """\
kind: Trigger
name: faults.signup
type: custom
audience: contact
attributes: []
"""

ORDER = """\
kind: Trigger
name: faults.order
type: custom
audience: contact
attributes:
  - {name: order_id, type: text, required: true}
"""

# An email, then an SMS: one message on each kind of provider.
GREET = """\
kind: Journey
id: greet
name: Greet
start: {trigger: faults.signup}
steps:
  - id: hello
    email: {subject: "Hello {{ contact.first_name }}", text: "Hello."}
  - id: text
    sms: {text: "Hi {{ contact.first_name }}"}
"""

# One email per order, however many orders: a second run would be a second email.
RECEIPT = """\
kind: Journey
id: receipt
name: One email per order
start: {trigger: faults.order}
reentry: always
steps:
  - {id: thanks, email: {subject: "Order {{ trigger.order_id }}", text: "Thanks."}}
"""


def bundle(*documents: str) -> str:
    return "---\n".join(documents)
