"""Payment settings (docs/payments.md): the providers offered, WeChat Pay and Alipay, and
the checks that refuse to start without a provider's keys (called by `settings.Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class WechatPaySettings(BaseModel):
    """WeChat Pay API v3 (telemed.payments.wechat): the merchant's identity and keys."""

    base_url: str = "https://api.mch.weixin.qq.com"
    mchid: str | None = None
    appid: str | None = None
    cert_serial_no: str | None = None  # the merchant API certificate's serial number
    private_key_path: str | None = None  # the merchant API private key (PEM)
    apiv3_key: str | None = None  # 32 bytes: decrypts notifications and certificates
    # Where the downloaded platform certificates are kept (verified before use).
    cert_dir: str | None = None
    # The platform public key (微信支付公钥) and its id, where the merchant uses that mode.
    public_key_path: str | None = None
    public_key_id: str | None = None
    timeout_seconds: float = 10.0


class AlipaySettings(BaseModel):
    """Alipay open platform (telemed.payments.alipay): the app's keys, RSA2 only."""

    gateway: str = "https://openapi.alipay.com/gateway.do"
    app_id: str | None = None
    app_private_key_path: str | None = None  # the app's private key (PEM)
    alipay_public_key_path: str | None = None  # Alipay's public key (PEM)
    timeout_seconds: float = 10.0


class PaymentSettings(BaseModel):
    """Payment orders and providers (docs/payments.md)."""

    # The providers offered to payers, in order; "sandbox" settles in development only.
    providers: list[str] = ["sandbox"]
    # Where the providers post notifications: the public base URL of this server.
    public_base_url: str = "http://127.0.0.1:8000"
    # Minutes an unpaid order stays open before it is closed and what it held is released.
    order_ttl_minutes: int = Field(default=15, ge=1)
    wechat: WechatPaySettings = WechatPaySettings()
    alipay: AlipaySettings = AlipaySettings()


def refuse_incomplete_alipay(payments: PaymentSettings, env: str, examples: frozenset[str]) -> None:
    """Alipay offered: its app id and key files are required (and https in production)."""
    alipay, names = (
        payments.alipay,
        ("app_id", "app_private_key_path", "alipay_public_key_path"),
    )
    missing = [f"TELEMED_PAYMENTS__ALIPAY__{n.upper()}" for n in names if not getattr(alipay, n)]
    if missing or alipay.app_id in examples:
        raise ValueError(
            "Alipay needs " + ", ".join(missing or ["TELEMED_PAYMENTS__ALIPAY__APP_ID"])
        )
    keys = [str(alipay.app_private_key_path), str(alipay.alipay_public_key_path)]
    if absent := [key for key in keys if not Path(key).is_file()]:
        raise ValueError("Alipay's key files are missing: " + ", ".join(absent))
    if env == "production" and not alipay.gateway.startswith("https://"):
        raise ValueError("TELEMED_PAYMENTS__ALIPAY__GATEWAY must be https:// in production")


def refuse_incomplete_wechat_pay(payments: PaymentSettings, examples: frozenset[str]) -> None:
    """WeChat Pay offered in production: every merchant value, none an example."""
    wechat = payments.wechat
    required = ("mchid", "appid", "cert_serial_no", "private_key_path", "apiv3_key")
    for name in required:
        value = getattr(wechat, name)
        if not value or value in examples:
            raise ValueError(
                f"WeChat Pay (in TELEMED_PAYMENTS__PROVIDERS) needs "
                f"TELEMED_PAYMENTS__WECHAT__{name.upper()} (not an example value)"
            )
    if len((wechat.apiv3_key or "").encode()) != 32:
        raise ValueError("TELEMED_PAYMENTS__WECHAT__APIV3_KEY must be the 32-byte APIv3 key")
    if bool(wechat.public_key_path) != bool(wechat.public_key_id):
        raise ValueError(
            "TELEMED_PAYMENTS__WECHAT__PUBLIC_KEY_PATH and __PUBLIC_KEY_ID go together"
        )
    if not wechat.base_url.startswith("https://"):
        raise ValueError("TELEMED_PAYMENTS__WECHAT__BASE_URL must be https in production")
