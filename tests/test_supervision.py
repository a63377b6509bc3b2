"""The process definitions a clinic installs (deploy/systemd): valid units that restart what
exits, run commands this checkout has, and an example environment file that passes
`manage.py check --deploy`."""

import configparser
import secrets
import shutil
import subprocess

from tests.test_production import ROOT, production_env, run_django

UNITS = ROOT / "deploy" / "systemd"
LONG_RUNNING = ["iop-web.service", "iop-worker.service", "iop-beat.service"]


def read_unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(UNITS / name)
    return unit


def test_the_units_are_valid_for_systemd_with_this_checkout_in_place(tmp_path):
    """`systemd-analyze verify` on the units, with /srv/iop pointing at this checkout."""
    assert shutil.which("systemd-analyze"), "systemd-analyze is part of Debian's systemd package"
    for unit in UNITS.glob("iop-*"):
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/iop", str(ROOT)))

    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(path) for path in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (verified.returncode, verified.stderr) == (0, "")


def test_every_long_running_process_is_restarted_whenever_it_exits():
    for name in LONG_RUNNING:
        unit = read_unit(name)
        assert unit["Service"]["Restart"] == "always", name
        assert unit["Unit"]["StartLimitIntervalSec"] == "0", f"{name} must never stop being restarted"
        assert unit["Service"]["EnvironmentFile"] == "/etc/iop/iop.env", name


def test_a_stuck_worker_is_restarted_by_the_minute_check():
    check = read_unit("iop-check.service")
    restart = read_unit("iop-restart-reminders.service")

    assert check["Service"]["ExecStart"].endswith("manage.py check_reminders")
    assert check["Unit"]["OnFailure"] == "iop-restart-reminders.service"
    assert restart["Service"]["ExecStart"] == "/bin/systemctl restart iop-worker.service iop-beat.service"
    assert read_unit("iop-check.timer")["Timer"]["OnUnitActiveSec"] == "1min"


def test_the_example_environment_passes_the_deployment_checks(tmp_path):
    example = {}
    for line in (UNITS / "iop.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    example["DATABASE_URL"] = f"sqlite:///{tmp_path / 'example.sqlite3'}"  # no server needed for the check
    # The placeholders are there to be replaced (and the check says so if they are not).
    example["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    example["AUDIT_CHAIN_KEY"] = secrets.token_urlsafe(50)

    checked = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path, **example)
    )

    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout
