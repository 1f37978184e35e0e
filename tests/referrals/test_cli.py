"""`telemed referral-jobs` runs the periodic jobs (for cron)."""

from __future__ import annotations

from typer.testing import CliRunner

from telemed.cli import app


def test_referral_jobs_command(database_url: str) -> None:
    result = CliRunner().invoke(app, ["referral-jobs"])
    assert result.exit_code == 0, result.output
    assert "expired=" in result.output and "escalated=" in result.output
