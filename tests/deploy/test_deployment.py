"""The deployment files, checked without Docker (the build machines have no engine).

The compose file, the Dockerfile and deploy/ are read and held against the code they deploy:
the settings, the CLI's commands, the search attributes. The compose file's one-shot jobs are
shell scripts; they run here against stand-ins for psql and the Temporal tools.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from journeys.cli.main import app
from journeys.settings import Settings
from journeys.temporal.names import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "api", "worker")
CORE_SERVICES = {"postgres", "temporal-schema", "temporal", "temporal-ui", "temporal-setup"}
CORE_SERVICES |= set(APP_SERVICES)
OBSERVABILITY_SERVICES = {"otel-collector", "jaeger", "prometheus"}

# What the API and the worker need in production (the contract's settings).
PRODUCTION_SETTINGS = (
    "database_url",
    "temporal_address",
    "temporal_namespace",
    "task_queue",
    "api_key",
    "signing_secret",
    "public_url",
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_password",
    "smtp_starttls",
    "email_from",
    "sms_webhook_url",
    "push_webhook_url",
)
# Set by the compose file ahead of the code that reads them; unknown settings are ignored.
REQUIRED_SECRETS = ("JOURNEYS_API_KEY", "JOURNEYS_SIGNING_SECRET")

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, and $$ for a literal $.
INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """What Compose makes of a value, given the variables of the shell it runs in."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        value = variables.get(name)
        unset = value is None or (operator is not None and operator.startswith(":") and not value)
        if not unset:
            return str(value)
        if operator in ("?", ":?"):
            raise ValueError(f"compose refuses to start: {argument}")
        return argument or ""

    return INTERPOLATION.sub(replace, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def shared_env(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["x-journeys-env"]


def env_of(service: Mapping[str, Any]) -> dict[str, Any]:
    environment = service.get("environment", {})
    if isinstance(environment, list):  # ["KEY=value", "KEY"]
        pairs = (item.partition("=") for item in environment)
        return {key: value if sep else None for key, sep, value in pairs}
    return dict(environment)


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Dependency -> condition (a plain list means service_started)."""
    dependencies = service.get("depends_on", {})
    if isinstance(dependencies, list):
        return dict.fromkeys(dependencies, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in dependencies.items()}


def script_of(service: Mapping[str, Any]) -> str:
    """The shell script a one-shot job runs, as the container's shell receives it."""
    assert service["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = service["command"]
    return interpolate(script, {})


def cli_commands() -> set[str]:
    """The subcommands of `journeys`."""
    commands = getattr(typer.main.get_command(app), "commands", None)
    assert isinstance(commands, dict)
    return set(commands)


def exec_form_code(test: list[str]) -> str:
    """The Python that a `python -c` health check runs."""
    position = test.index("-c")
    assert test[position - 1] == "python"
    return test[position + 1]


# The compose file


def test_every_service_is_defined(services: dict[str, Any]) -> None:
    assert set(services) >= CORE_SERVICES | OBSERVABILITY_SERVICES


def test_the_file_follows_the_compose_specification() -> None:
    """Checked with the Compose Specification's own JSON schema, as check-jsonschema vendors
    it: what Docker Compose v2 itself validates the file against."""
    checked = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_image_is_pinned_to_a_version(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "image" not in service:
            continue
        _, _, tag = service["image"].rpartition(":")
        assert tag and "/" not in tag and tag != "latest", f"{name}: {service['image']}"
        assert any(c.isdigit() for c in tag), f"{name}: a tag names a version, not {tag!r}"
    temporal = {
        services[n]["image"].split(":")[1].split("-")[0]
        for n in CORE_SERVICES
        if services[n].get("image", "").startswith(("temporalio/server", "temporalio/admin"))
    }
    assert len(temporal) == 1, f"the Temporal server and its admin tools move together: {temporal}"


def test_workers_can_be_scaled(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_the_repository(services: dict[str, Any], name: str) -> None:
    build = services[name]["build"]
    context = build["context"] if isinstance(build, dict) else build
    assert context == "."


@pytest.mark.parametrize(
    ("name", "dependency", "condition"),
    [
        ("temporal-schema", "postgres", "service_healthy"),
        ("temporal", "temporal-schema", "service_completed_successfully"),
        ("temporal-setup", "temporal", "service_healthy"),
        ("temporal-ui", "temporal", "service_healthy"),
        ("migrate", "postgres", "service_healthy"),
        ("api", "migrate", "service_completed_successfully"),
        ("api", "temporal-setup", "service_completed_successfully"),
        ("worker", "migrate", "service_completed_successfully"),
        ("worker", "temporal-setup", "service_completed_successfully"),
    ],
)
def test_start_order(services: dict[str, Any], name: str, dependency: str, condition: str) -> None:
    assert depends_on(services[name]).get(dependency) == condition


def test_waited_for_services_have_a_health_check(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition == "service_healthy":
                check = services[dependency].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (name, dependency)


def test_observability_is_a_profile(services: dict[str, Any]) -> None:
    for name in OBSERVABILITY_SERVICES:
        assert services[name].get("profiles") == ["observability"], name
    for name in CORE_SERVICES:
        assert "profiles" not in services[name], name


def test_the_production_settings_are_in_the_shared_environment(shared_env: dict[str, Any]) -> None:
    prefix = Settings.model_config["env_prefix"]
    assert prefix == "JOURNEYS_"
    for name in PRODUCTION_SETTINGS:
        assert name in Settings.model_fields, f"{name} is not a setting (any more)"
        assert f"{prefix}{name.upper()}" in shared_env, name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_the_shared_environment(
    services: dict[str, Any], shared_env: dict[str, Any], name: str
) -> None:
    env = env_of(services[name])
    assert {key: env.get(key) for key in shared_env} == shared_env


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_journeys_variable_is_a_setting(services: dict[str, Any], name: str) -> None:
    known = set(Settings.model_fields)
    for key in env_of(services[name]):
        if key.startswith("JOURNEYS_"):
            assert key.removeprefix("JOURNEYS_").lower() in known, f"{name}: {key}"


def test_secrets_must_be_given(shared_env: dict[str, Any]) -> None:
    for key in REQUIRED_SECRETS:
        assert re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", shared_env[key]), key
        with pytest.raises(ValueError, match="refuses"):
            interpolate(shared_env[key], {})


def test_the_shared_environment_makes_valid_settings(
    shared_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only the required secrets exported, every value parses; none is an empty string."""
    for key in list(os.environ):
        if key.startswith("JOURNEYS_"):
            monkeypatch.delenv(key)
    given = dict.fromkeys(REQUIRED_SECRETS, "s3cret")
    for key, value in shared_env.items():
        if value is None:  # passed through only when set: left out here
            continue
        resolved = interpolate(str(value), given)
        assert resolved != "", f"{key} would be an empty string"
        monkeypatch.setenv(key, resolved)
    settings = Settings(_env_file=None)
    assert settings.database_url is not None
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.temporal_address == "temporal:7233"
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "s3cret"
    assert settings.signing_secret.get_secret_value() == "s3cret"


def test_the_database_url_names_the_postgres_service(
    services: dict[str, Any], shared_env: dict[str, Any]
) -> None:
    postgres = env_of(services["postgres"])
    user, password, db = (
        postgres[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    expected = f"postgresql+psycopg://{user}:{password}@postgres:5432/{db}"
    assert shared_env["JOURNEYS_DATABASE_URL"] == expected


@pytest.mark.parametrize(
    ("name", "service_name"), [("api", "journeys-api"), ("worker", "journeys-worker")]
)
def test_each_process_names_itself_for_telemetry(
    services: dict[str, Any], name: str, service_name: str
) -> None:
    assert env_of(services[name])["OTEL_SERVICE_NAME"] == service_name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_commands_exist(services: dict[str, Any], name: str) -> None:
    command = services[name]["command"]
    assert command == [name]
    assert command[0] in cli_commands()


def test_the_api_is_ready_only_when_it_can_take_events(services: dict[str, Any]) -> None:
    api = services["api"]
    assert "8000:8000" in api["ports"]
    code = exec_form_code(api["healthcheck"]["test"])
    compile(code, "healthcheck", "exec")
    assert "http://127.0.0.1:8000/readyz" in code


@pytest.mark.parametrize("name", ["migrate", "worker"])
def test_the_api_health_check_is_off_where_there_is_no_api(
    services: dict[str, Any], name: str
) -> None:
    assert services[name]["healthcheck"] == {"disable": True}


def test_mounted_files_exist(services: dict[str, Any]) -> None:
    mounts = [
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert mounts
    for source in mounts:
        assert (ROOT / source).is_file(), source


# Temporal's schema and setup jobs


def test_the_schema_job_sets_up_both_databases(services: dict[str, Any]) -> None:
    script = script_of(services["temporal-schema"])
    assert "--plugin postgres12" in script
    assert "setup temporal temporal" in script
    assert "setup temporal_visibility visibility" in script
    assert "/etc/temporal/schema/postgresql/v12/$2/versioned" in script


def test_the_server_uses_the_databases_the_job_made(services: dict[str, Any]) -> None:
    env = env_of(services["temporal"])
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    postgres = env_of(services["postgres"])
    assert env["POSTGRES_USER"] == postgres["POSTGRES_USER"]
    assert env["POSTGRES_PWD"] == postgres["POSTGRES_PASSWORD"]


def test_the_setup_job_registers_the_workflows_search_attributes(
    services: dict[str, Any], shared_env: dict[str, Any]
) -> None:
    script = script_of(services["temporal-setup"])
    lines = script.replace("\\\n", " ").splitlines()
    (line,) = [line for line in lines if "search-attribute create" in line]
    command = shlex.split(line)
    names = [command[i + 1] for i, word in enumerate(command) if word == "--name"]
    types = [command[i + 1] for i, word in enumerate(command) if word == "--type"]
    # Given one --type for several --name, the CLI silently registers the first name only.
    assert len(names) == len(types)
    registered = dict(zip(names, types, strict=True))
    expected = {
        key.name: key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_").title()
        for key in SEARCH_ATTRIBUTES
    }
    assert registered == expected
    namespace = shared_env["JOURNEYS_TEMPORAL_NAMESPACE"]
    assert script.count(f"--namespace {namespace} ") == 2


STUB_PSQL = r"""#!/bin/sh
# psql -h HOST -U USER -d DB -tAc SQL, over a directory of marker files.
db=$6; sql=$8
[ -n "${FAIL_PSQL_ON:-}" ] && [ "$db" = "$FAIL_PSQL_ON" ] && { echo "psql: failed" >&2; exit 2; }
case $sql in
  *pg_database*)
    name=${sql#*datname = \'}; name=${name%\'}
    [ -e "$STATE/db-$name" ] && echo 1 ;;
  *schema_version*)
    [ -e "$STATE/versioned-$db" ] && echo schema_version ;;
esac
exit 0
"""

STUB_SQL_TOOL = r"""#!/bin/sh
echo "temporal-sql-tool $*" >> "$STATE/log"
db=; command=
while [ $# -gt 0 ]; do
  case $1 in
    --db) db=$2; shift ;;
    create|setup-schema|update-schema) command=$1 ;;
  esac
  shift
done
case $command in
  create) [ -e "$STATE/db-$db" ] && exit 1; touch "$STATE/db-$db" ;;
  setup-schema) touch "$STATE/versioned-$db" ;;
  update-schema) [ -e "$STATE/versioned-$db" ] || exit 1 ;;
esac
"""

# Answers each call with the next line of $STATE/answers: "<exit code> <output>".
STUB_TEMPORAL = r"""#!/bin/sh
echo "temporal $*" >> "$STATE/log"
n=$(( $(cat "$STATE/calls" 2>/dev/null || echo 0) + 1 )); echo $n > "$STATE/calls"
line=$(sed -n "${n}p" "$STATE/answers")
[ -n "$line" ] || line="0 ok"
echo "${line#* }"
exit "${line%% *}"
"""


@pytest.fixture
def run_job(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs a job's script with stand-in tools; their state and log are in tmp_path/state."""
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no POSIX shell")
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in {
        "psql": STUB_PSQL,
        "temporal-sql-tool": STUB_SQL_TOOL,
        "temporal": STUB_TEMPORAL,
        "sleep": "#!/bin/sh\nexit 0\n",
    }.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)

    def run(script: str, **env: str) -> subprocess.CompletedProcess[str]:
        variables = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STATE": str(state)}
        return subprocess.run(
            [shell, "-c", script],
            env=variables | env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def logged(tmp_path: Path) -> list[str]:
    log = tmp_path / "state" / "log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def sql_steps(lines: list[str]) -> list[tuple[str, str]]:
    steps = []
    for line in lines:
        words = line.split()
        assert words[:3] == ["temporal-sql-tool", "--plugin", "postgres12"], line
        database = words[words.index("--db") + 1]
        command = next(w for w in words if w in ("create", "setup-schema", "update-schema"))
        if command == "update-schema":
            command += " " + words[words.index("-d") + 1]
        steps.append((database, command))
    return steps


def test_the_schema_job_creates_then_only_migrates(
    services: dict[str, Any], run_job: Callable[..., Any], tmp_path: Path
) -> None:
    script = script_of(services["temporal-schema"])
    schema = "/etc/temporal/schema/postgresql/v12"

    first = run_job(script)
    assert first.returncode == 0, first.stderr
    assert sql_steps(logged(tmp_path)) == [
        ("temporal", "create"),
        ("temporal", "setup-schema"),
        ("temporal", f"update-schema {schema}/temporal/versioned"),
        ("temporal_visibility", "create"),
        ("temporal_visibility", "setup-schema"),
        ("temporal_visibility", f"update-schema {schema}/visibility/versioned"),
    ]

    again = run_job(script)
    assert again.returncode == 0, again.stderr
    assert sql_steps(logged(tmp_path)) == [
        ("temporal", f"update-schema {schema}/temporal/versioned"),
        ("temporal_visibility", f"update-schema {schema}/visibility/versioned"),
    ]


def test_the_schema_job_stops_when_it_cannot_tell_whether_a_schema_exists(
    services: dict[str, Any], run_job: Callable[..., Any], tmp_path: Path
) -> None:
    script = script_of(services["temporal-schema"])
    assert run_job(script).returncode == 0
    logged(tmp_path)

    failed = run_job(script, FAIL_PSQL_ON="temporal")
    assert failed.returncode != 0
    # Above all, no setup-schema: it would reset the recorded version of a live database.
    assert logged(tmp_path) == []


def write_answers(tmp_path: Path, *answers: str) -> None:
    (tmp_path / "state" / "answers").write_text("".join(f"{a}\n" for a in answers))


def test_the_setup_job_accepts_what_exists_already(
    services: dict[str, Any], run_job: Callable[..., Any], tmp_path: Path
) -> None:
    write_answers(
        tmp_path,
        '1 Error: unable to create namespace default: Namespace "default" already exists',
        "0 Search attributes have been added",
    )
    result = run_job(script_of(services["temporal-setup"]))
    assert result.returncode == 0, result.stderr
    calls = logged(tmp_path)
    assert [call.split()[1:3] for call in calls] == [
        ["operator", "namespace"],
        ["operator", "search-attribute"],
    ]
    assert all("--address temporal:7233" in call for call in calls)


def test_the_setup_job_waits_for_a_new_namespace(
    services: dict[str, Any], run_job: Callable[..., Any], tmp_path: Path
) -> None:
    write_answers(
        tmp_path,
        "0 Namespace default successfully registered.",
        "1 Error: unable to get existing search attributes: Namespace default is not found.",
        "0 Search attributes have been added",
    )
    result = run_job(script_of(services["temporal-setup"]))
    assert result.returncode == 0, result.stderr
    assert len(logged(tmp_path)) == 3


def test_the_setup_job_fails_on_a_conflicting_search_attribute(
    services: dict[str, Any], run_job: Callable[..., Any], tmp_path: Path
) -> None:
    conflict = "1 Error: search attribute JourneyId already exists and has different type Text"
    write_answers(tmp_path, "0 Namespace default successfully registered.", *[conflict] * 30)
    result = run_job(script_of(services["temporal-setup"]))
    assert result.returncode != 0
    assert "different type" in result.stderr


# deploy/: the collector and Prometheus


def test_the_collector_receives_otlp_and_exports_traces_and_metrics() -> None:
    config = yaml.safe_load((ROOT / "deploy/otel-collector.yaml").read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for receiver in pipeline["receivers"]:
            assert receiver in config["receivers"]
        for processor in pipeline.get("processors", []):
            assert processor in config["processors"]
        for exporter in pipeline["exporters"]:
            assert exporter in config["exporters"]
    (traces,) = pipelines["traces"]["exporters"]
    assert config["exporters"][traces]["endpoint"] == "jaeger:4317"
    assert "prometheus" in pipelines["metrics"]["exporters"]


def test_prometheus_scrapes_the_api_every_worker_and_the_collector(
    services: dict[str, Any],
) -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    static = {
        target
        for job in jobs.values()
        for group in job.get("static_configs", [])
        for target in group["targets"]
    }
    assert "api:8000" in static
    (worker,) = jobs["journeys-worker"]["dns_sd_configs"]
    assert worker == {"names": ["worker"], "type": "A", "port": 9464}
    address = env_of(services["worker"])["JOURNEYS_WORKER_METRICS_ADDRESS"]
    assert address == "0.0.0.0:9464"  # every interface: Prometheus scrapes from its container
    collector = yaml.safe_load((ROOT / "deploy/otel-collector.yaml").read_text())
    port = collector["exporters"]["prometheus"]["endpoint"].rpartition(":")[2]
    assert f"otel-collector:{port}" in static
    for target in static:
        assert target.partition(":")[0] in services, target


# The image


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, continuation lines joined, one list per stage."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        assert stages, "an instruction before the first FROM"
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def arguments(stage: list[tuple[str, str]], instruction: str) -> list[str]:
    return [args for name, args in stage if name == instruction]


def test_the_image_is_built_in_two_stages() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert arguments(final, "FROM") == ["python:3.11.11-slim-bookworm"]
    assert any("--from=" in args for args in arguments(final, "COPY"))
    builds = [args for stage in stages[:-1] for args in arguments(stage, "RUN")]
    assert any("pip install --require-hashes -r requirements.lock" in args for args in builds)
    assert any("pip install --no-deps ." in args for args in builds)
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in python


def test_the_final_stage_has_no_build_tools() -> None:
    final = dockerfile_stages()[-1]
    for args in arguments(final, "RUN"):
        for tool in ("apt-get", "apk", "gcc", "build-essential", "pip install"):
            assert tool not in args, args


def test_the_image_runs_the_journeys_command_as_a_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    assert json.loads(arguments(final, "ENTRYPOINT")[-1]) == ["journeys"]
    cmd = json.loads(arguments(final, "CMD")[-1])
    assert cmd == ["api"]
    assert cmd[0] in cli_commands()
    user = arguments(final, "USER")[-1].partition(":")[0]
    assert user not in ("", "root", "0")
    assert arguments(final, "WORKDIR")[-1] == "/app"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["journeys"] == "journeys.cli.main:app"


def test_the_image_environment() -> None:
    final = dockerfile_stages()[-1]
    env = dict(word.split("=", 1) for args in arguments(final, "ENV") for word in shlex.split(args))
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["JOURNEYS_API_HOST"] == "0.0.0.0"  # noqa: S104 (published by the container)
    assert env["JOURNEYS_DATA_DIR"] == "/app/data"
    for key in env:
        if key.startswith("JOURNEYS_"):
            assert key.removeprefix("JOURNEYS_").lower() in Settings.model_fields, key


def test_the_image_carries_the_definitions_and_checks_liveness() -> None:
    final = dockerfile_stages()[-1]
    assert any(args.split()[0] == "workflows" for args in arguments(final, "COPY"))
    (healthcheck,) = arguments(final, "HEALTHCHECK")
    test = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :].strip())
    code = exec_form_code(test)
    compile(code, "healthcheck", "exec")
    assert "http://127.0.0.1:%s/healthz" in code


def test_what_the_image_copies_exists_and_is_not_ignored() -> None:
    ignored = [
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in (".venv", ".journeys", ".git", ".env", "tests", "bench"):
        assert name in ignored, name
    sources = [
        word
        for stage in dockerfile_stages()
        for args in arguments(stage, "COPY")
        if "--from=" not in args
        for word in args.split()[:-1]
        if not word.startswith("--")
    ]
    assert "src" in sources and "workflows" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def pinned(path: Path) -> dict[str, list[str]]:
    """A pip-compile lock file: each requirement (name==version) and its hashes."""
    entries: dict[str, list[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            entries[current].append(line.removesuffix(" \\"))
        else:
            current = line.removesuffix(" \\").split(";")[0].strip()
            entries[current] = []
    return entries


@pytest.mark.parametrize("lock", ["constraints.txt", "requirements.lock"])
def test_every_pinned_dependency_carries_its_hashes(lock: str) -> None:
    entries = pinned(ROOT / lock)
    assert entries and all("==" in name for name in entries), lock
    assert [name for name, hashes in entries.items() if not hashes] == []


def test_the_image_lock_pins_every_runtime_dependency() -> None:
    locked = {re.split(r"[\[=]", name)[0].lower() for name in pinned(ROOT / "requirements.lock")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {re.split(r"[\[<>=~ ]", dependency)[0].lower() for dependency in project}
    assert wanted - locked == set()
    assert "pytest" not in locked  # the image carries no test tools
