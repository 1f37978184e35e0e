"""The provider registry: builds the providers named in `settings.payments.providers`
(once per process) and lets tests swap one in.

"wechat" and "alipay" are imported lazily from `telemed.payments.wechat:WechatPayProvider`
and `telemed.payments.alipay:AlipayProvider` (built with their settings group); "sandbox"
is refused in production.
"""

from __future__ import annotations

import importlib
from threading import Lock

from telemed.core.errors import NotFound, Unavailable
from telemed.core.settings import Settings, get_settings
from telemed.payments.provider import PaymentProvider, ProviderError
from telemed.payments.sandbox import SandboxProvider, sandbox_key

__all__ = ["get", "names", "reset", "set_provider"]

_ADAPTERS = {
    "wechat": ("telemed.payments.wechat", "WechatPayProvider"),
    "alipay": ("telemed.payments.alipay", "AlipayProvider"),
}
_built: dict[str, PaymentProvider] = {}
_swapped: dict[str, PaymentProvider] = {}
_lock = Lock()


def names(settings: Settings | None = None) -> list[str]:
    """The providers offered to payers, in the configured order (and any swapped in)."""
    configured = list((settings or get_settings()).payments.providers)
    return configured + [n for n in _swapped if n not in configured]


def get(name: str, settings: Settings | None = None) -> PaymentProvider:
    """The provider called `name`; 404 `unknown_provider` when it is not offered, 503 (
    `sandbox_in_production`, `provider_missing`) when it cannot be built."""
    if name in _swapped:
        return _swapped[name]
    settings = settings or get_settings()
    if name not in settings.payments.providers:
        raise NotFound(f"payment provider {name!r} is not offered", code="unknown_provider")
    with _lock:
        if name not in _built:
            try:
                _built[name] = _build(name, settings)
            except ProviderError as exc:  # 503 with the reason's code
                raise Unavailable(str(exc), code=exc.code) from exc
        return _built[name]


def _build(name: str, settings: Settings) -> PaymentProvider:
    if name == "sandbox":
        if settings.env == "production":
            raise ProviderError(
                "the sandbox payment provider is refused in production",
                code="sandbox_in_production",
                unavailable=True,
            )
        # Its page is on this server: a path, whichever address the payer reached us by.
        return SandboxProvider(key=sandbox_key(settings.security.secret_key), base_url="")
    if name not in _ADAPTERS:
        raise ProviderError(f"no payment provider called {name!r}", code="unknown_provider")
    module_name, class_name = _ADAPTERS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ProviderError(
            f"payment provider {name!r} is configured but {module_name} is missing",
            code="provider_missing",
            unavailable=True,
        ) from exc
    group = getattr(settings.payments, name)
    extra: dict[str, str] = {}
    if name == "wechat":  # its refunds name the URL their notifications go to
        base = settings.payments.public_base_url.rstrip("/")
        extra["notify_url"] = f"{base}/api/v1/payments/notify/wechat"
    provider: PaymentProvider = getattr(module, class_name)(group, **extra)
    return provider


def set_provider(name: str, provider: PaymentProvider | None) -> None:
    """Swap in `provider` under `name` (tests); None removes the swap."""
    if provider is None:
        _swapped.pop(name, None)
    else:
        _swapped[name] = provider


def reset() -> None:
    """Forget the built providers (tests that change the settings)."""
    with _lock:
        _built.clear()
