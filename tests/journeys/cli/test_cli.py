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


def test_validate_a_file_alone_with_the_triggers_beside_it() -> None:
    result = CliRunner().invoke(app, ["validate", str(ROOT / "workflows" / "cart-recovery.yaml")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "ok: 0 triggers, 1 journey\n"


MISTAKES = """kind: Journey
id: j
name: J
start: {trigger: contact.creatd}
steps:
  - {id: hello, emial: {subject: Hi, text: Hello}}
  - {id: opened, wait_for: {trigger: email.opened, of: helo, within: P1D}}
"""


def test_validate_graph_and_simulate_agree_on_what_is_valid(tmp_path: Path) -> None:
    file = tmp_path / "j.yaml"
    file.write_text(MISTAKES)
    expected = [
        f"{file}: steps[0].emial: unknown field; did you mean 'email'?",
        f"{file}: start.trigger: unknown trigger 'contact.creatd'; did you mean 'contact.created'?",
        f"{file}: steps[1].wait_for.of: no step 'helo' in this journey; did you mean 'hello'?",
        "(triggers are looked for among the built-in ones, in the files given and in the files "
        f"beside them: {tmp_path}/)",
    ]
    for command in (["validate"], ["graph"], ["simulate"]):
        result = CliRunner().invoke(app, [*command, str(file)])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == expected, command


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            "+2h email.opend of welcome",
            "[0].trigger: unknown trigger 'email.opend'; did you mean 'email.opened'?",
        ),
        (
            "+2h email.opened of welcom",
            "[0].of: no step 'welcom' in welcome; did you mean 'welcome'?",
        ),
        (
            "2h",
            "[0]: '2h' is not `+<time> <trigger> [of <step>]`, e.g. +2h email.opened of welcome",
        ),
    ],
)
def test_simulate_refuses_events_that_cannot_happen(
    tmp_path: Path, line: str, problem: str
) -> None:
    events = tmp_path / "events.yaml"
    events.write_text(f'- "{line}"\n')
    welcome = str(ROOT / "workflows" / "welcome.yaml")
    result = CliRunner().invoke(app, ["simulate", welcome, "--events", str(events)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"{events}: {problem}\n"


def test_simulate_prints_the_run_in_time_order_with_reasons_in_words(tmp_path: Path) -> None:
    (tmp_path / "events.yaml").write_text('- "+2h email.opened of welcome"\n')
    (tmp_path / "ada.yaml").write_text("first_name: Ada\nemail: ada@example.com\n")
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(ROOT / "workflows" / "welcome.yaml"),
            "--events",
            str(tmp_path / "events.yaml"),
            "--contact",
            str(tmp_path / "ada.yaml"),
            "--version",
            "3",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "journey welcome, version 3, from Mon 05 Jan 2026 09:00 UTC",
        "Mon 05 Jan 09:00  welcome          entered: version 3",
        "Mon 05 Jan 09:00  welcome          email sent: Bienvenue Ada !",
        "Mon 05 Jan 11:00  opened           matched: email.opened (simulated-event-1)",
        "Mon 05 Jan 11:00  thanks           sms blocked: the contact has no phone number",
        "Mon 05 Jan 11:00  -                completed",
        "outcome: completed",
        "path: welcome -> opened -> thanks",
    ]


def test_help_keeps_each_sentence_whole() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0
    assert (
        "Run a journey on a virtual clock with a contact and a script of events: the path, each "
        "message rendered, each wait and decision, in time order." in result.stdout
    )


@pytest.mark.parametrize(
    ("capturing", "outbox"),
    [
        (True, "http://127.0.0.1:8000/dev/outbox (email, SMS and push)"),
        (False, "http://127.0.0.1:8000/dev/outbox (SMS and push; email to SMTP mail.example:25)"),
    ],
)
def test_the_dev_banner_names_the_outbox_once(capturing: bool, outbox: str) -> None:
    from journeys.cli.dev.stack import DevStack
    from journeys.settings import Settings

    settings = Settings(public_url="http://127.0.0.1:8000", smtp_host="mail.example", smtp_port=25)
    said: list[str] = []
    DevStack(settings, say=said.append)._banner(settings, capturing)
    assert f"  Outbox       {outbox}\n" in said[0]


def test_dev_refuses_fewer_than_one_worker_naming_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dev", "--data-dir", str(tmp_path), "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.stderr and "0 is not in the range x>=1" in result.stderr
    assert not list(tmp_path.iterdir())  # refused before anything started
