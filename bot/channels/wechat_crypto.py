"""WeChat's callback signatures and message encryption (the "WXBizMsgCrypt" scheme),
shared by the WeChat Official Account (bot/channels/wechat.py) and WeCom customer
service (bot/channels/wecom.py) connectors.

As published by Tencent (Official Account "安全模式" and WeCom "回调配置"):
* signature = SHA1 of the sorted concatenation of token, timestamp, nonce (and, for
  encrypted messages, the ``Encrypt`` text);
* AESKey = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC, IV = AESKey[:16];
* plaintext = 16 random bytes + 4-byte big-endian length + message + receive id
  (the app id / corp id), padded PKCS#7 to a multiple of 32 bytes; base64.
AES comes from ``cryptography`` (already in Rasa's environment).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from typing import Optional

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class SignatureInvalid(ValueError):
    """The request was not signed with our token: not from the platform."""


class DecryptError(ValueError):
    """A body that does not decrypt to a message for us (wrong key, app id, padding)."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str = "") -> str:
    parts = [token, timestamp, nonce] + ([encrypted] if encrypted else [])
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(given: Optional[str], token: str, timestamp: str, nonce: str, encrypted: str = "") -> None:
    if not token or not given or not hmac.compare_digest(given.lower(), signature(token, timestamp, nonce, encrypted)):
        raise SignatureInvalid("signature does not match")


class MessageCrypto:
    def __init__(self, encoding_aes_key: str, receive_id: str):
        try:
            self.key = base64.b64decode(encoding_aes_key + "=")
        except (binascii.Error, ValueError) as e:
            raise ValueError("EncodingAESKey must be 43 characters of base64") from e
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters of base64")
        self.receive_id = receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, random_prefix: Optional[bytes] = None) -> str:
        body = message.encode("utf-8")
        plain = (random_prefix or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError, TypeError) as e:
            raise DecryptError("not base64") from e
        if not data or len(data) % 16:
            raise DecryptError("not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise DecryptError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, receive_id = plain[20:20 + length], plain[20 + length:]
        if len(body) != length or receive_id.decode("utf-8", "replace") != self.receive_id:
            raise DecryptError("not for this app")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecryptError("not UTF-8") from e
