from journeys.definitions.catalog import BUILT_IN, TriggerCatalog, TriggerKind, check_attributes
from journeys.definitions.triggers import TriggerDefinition

ORDER = TriggerDefinition.model_validate(
    {
        "name": "order.placed",
        "attributes": [
            {"name": "order_id", "type": "text", "required": True},
            {"name": "amount", "type": "number"},
            {"name": "paid", "type": "boolean"},
            {"name": "at", "type": "datetime"},
        ],
    }
)


def test_built_in_triggers_are_the_contracts() -> None:
    kinds = {name: trigger.kind for name, trigger in BUILT_IN.items()}
    assert sum(k is TriggerKind.BUSINESS for k in kinds.values()) == 11
    assert {name for name, kind in kinds.items() if kind is TriggerKind.INTERACTION} == {
        *("email.delivered", "email.opened", "email.link_clicked", "email.bounced"),
        *("email.complained", "email.unsubscribed", "email.blocked"),
        *("sms.delivered", "sms.link_clicked", "sms.replied", "sms.failed", "sms.blocked"),
        *("push.delivered", "push.opened", "push.clicked", "push.failed", "push.blocked"),
    }


def test_custom_triggers_cannot_shadow_built_ins() -> None:
    catalog = TriggerCatalog([ORDER, TriggerDefinition(name="contact.created")])
    assert catalog["contact.created"].kind is TriggerKind.BUSINESS
    assert catalog["order.placed"].kind is TriggerKind.CUSTOM


def test_attributes_are_checked_and_every_problem_named() -> None:
    trigger = TriggerCatalog([ORDER])["order.placed"]
    _clean, problems = check_attributes(
        trigger, {"amount": "12", "paid": 1, "at": "yesterday", "colour": "red", "size": 3}
    )
    assert [(p.path, p.message) for p in problems] == [
        ("attributes.order_id", "required"),
        ("attributes.amount", "must be a number, got text"),
        ("attributes.paid", "must be true or false, got a number"),
        ("attributes.at", "must be an ISO 8601 date-time with a time zone offset"),
        (
            "attributes.colour",
            "unknown attribute of order.placed (declared: order_id, amount, paid, at)",
        ),
        (
            "attributes.size",
            "unknown attribute of order.placed (declared: order_id, amount, paid, at)",
        ),
    ]


def test_null_is_accepted_for_optional_attributes() -> None:
    trigger = TriggerCatalog([ORDER])["order.placed"]
    clean, problems = check_attributes(
        trigger, {"order_id": "o1", "amount": None, "at": "2026-01-01T10:00:00Z"}
    )
    assert problems == []
    assert clean == {"order_id": "o1", "at": "2026-01-01T10:00:00+00:00"}


def test_business_triggers_carry_any_record_column() -> None:
    clean, problems = check_attributes(BUILT_IN["contact.created"], {"country": "FR", "score": 3})
    assert problems == [] and clean == {"country": "FR", "score": 3}
