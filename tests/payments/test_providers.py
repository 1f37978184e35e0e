"""The provider registry: builds the configured providers, names a missing adapter module
clearly, refuses the sandbox in production."""

from __future__ import annotations

import sys

import pytest

from telemed.core.errors import NotFound, Unavailable
from telemed.core.settings import Settings, get_settings
from telemed.payments import providers
from telemed.payments.sandbox import SandboxProvider


def _settings(env: str, names: list[str]) -> Settings:
    """The test settings as `env` with `names` offered (a copy: not validated again)."""
    base = get_settings()
    return base.model_copy(
        update={"env": env, "payments": base.payments.model_copy(update={"providers": names})}
    )


@pytest.fixture(autouse=True)
def _fresh() -> None:
    providers.reset()
    yield
    providers.reset()


def test_the_sandbox_is_built_in_development_and_refused_in_production() -> None:
    assert isinstance(
        providers.get("sandbox", _settings("development", ["sandbox"])), SandboxProvider
    )
    providers.reset()
    with pytest.raises(Unavailable) as refused:
        providers.get("sandbox", _settings("production", ["sandbox"]))
    assert refused.value.code == "sandbox_in_production"


def test_a_provider_not_offered_is_404() -> None:
    with pytest.raises(NotFound) as missing:
        providers.get("alipay", _settings("development", ["sandbox"]))
    assert missing.value.code == "unknown_provider"


def test_a_configured_adapter_whose_module_is_missing_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "telemed.payments.wechat", None)  # as if not installed
    with pytest.raises(Unavailable) as missing:
        providers.get("wechat", _settings("development", ["wechat"]))
    assert missing.value.code == "provider_missing"
    assert "telemed.payments.wechat" in missing.value.detail
