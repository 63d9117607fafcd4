"""WeChat's message encryption (安全模式): the account's crypto, or None in plain-text mode."""
from __future__ import annotations

from wechatpy.crypto import WeChatCrypto


def make_crypto(settings) -> WeChatCrypto | None:
    if settings.wechat_safe_mode_only and not settings.wechat_aes_key:
        raise ValueError("WECHAT_SAFE_MODE_ONLY is on but WECHAT_AES_KEY is empty: no message could be read")
    if not settings.wechat_aes_key:
        return None
    return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)

