from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeys.cli.main import app

ROOT = Path(__file__).parents[3]


def test_validate_accepts_the_workflows_folder() -> None:
    result = CliRunner().invoke(app, ["validate", str(ROOT / "workflows")])
    assert result.exit_code == 0
    assert result.stdout == "ok: 5 triggers, 4 journeys\n"


def test_validate_lists_every_problem_and_fails(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "kind: Journey\nid: bad\nname: Bad\nstart: {trigger: no.such}\n"
        "steps: [{id: a, wait: PT1H}, {id: a, wait: PT2H}]\n"
    )
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{tmp_path}/bad.yaml: start.trigger: unknown trigger 'no.such'",
        f"{tmp_path}/bad.yaml: steps[1].id: step id 'a' is already used at steps[0]",
    ]


def test_log_lines_mask_contact_data() -> None:
    from journeys.observability.logs import redact

    line = (
        "Failed activation on workflow JourneyWorkflow with ID journey/welcome/ada@example.com/cart-1 "
        "run: recipient refused: {'ada@example.com': (550, b'no')} sms to +33612345678"
    )
    assert redact(line) == (
        "Failed activation on workflow JourneyWorkflow with ID journey/welcome/<contact> "
        "run: recipient refused: {'<email>': (550, b'no')} sms to <phone>"
    )
    links = "GET https://j.example/t/c/Zm9v.YmFy?x=1 https://j.example/ui/login/link?token=abc"
    assert redact(links) == (
        "GET https://j.example/t/c/<token>?x=1 https://j.example/ui/login/link?token=<token>"
    )
    assert redact("PUT /v1/contacts/ada%40x/consent") == "PUT /v1/contacts/<contact>/consent"


def test_the_readme_reference_is_the_generated_one() -> None:
    from journeys.authoring.reference import markdown

    readme = (ROOT / "README.md").read_text()
    assert markdown().rstrip("\n") in readme, "run `journeys reference --write README.md`"


def test_the_readme_graph_is_the_welcome_journeys() -> None:
    from journeys.authoring.graph import mermaid
    from journeys.definitions.documents import load_bundle

    welcome = next(j for j in load_bundle([ROOT / "workflows"]).journeys if j.id == "welcome")
    assert f"```mermaid\n{mermaid(welcome)}```" in (ROOT / "README.md").read_text()


def test_services_refuse_the_well_known_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEYS_SIGNING_SECRET", raising=False)
    for command in ("api", "worker"):
        result = CliRunner().invoke(app, [command])
        assert result.exit_code == 2
        assert result.stderr.startswith("JOURNEYS_SIGNING_SECRET is not set")
