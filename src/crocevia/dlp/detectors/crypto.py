"""Cryptocurrency wallet addresses: Bitcoin (base58check, bech32) and Ethereum."""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import bitcoin

from crocevia.dlp.base import BaseDetector
from crocevia.dlp.findings import Finding, Label
from crocevia.dlp.textinfo import longest_token

# The word-boundary checks sit after the first character so that each pattern
# starts with a character class and the regex engine can skip positions fast.
_BTC_BASE58 = re.compile(r"[13](?<!\w.)[1-9A-HJ-NP-Za-km-z]{25,34}(?!\w)")
_BTC_BECH32 = re.compile(r"[bB](?<!\w.)[cC]1[02-9ac-hj-np-zAC-HJ-NP-Z]{8,87}(?!\w)")
# Ethereum has no checksum that the standard library can verify (EIP-55 needs
# Keccak-256), so the shape alone is the test: 0x and exactly 40 hex digits.
_ETHEREUM = re.compile(r"0(?<!\w.)x[0-9a-fA-F]{40}(?!\w)")


class CryptoWalletDetector(BaseDetector):
    name = "crypto_wallet"
    labels = (Label.CRYPTO_WALLET,)
    min_token = 14  # bech32, the shortest address form

    def __init__(self, score: float = 0.95, ethereum_score: float = 0.9) -> None:
        self.score = score
        self.ethereum_score = ethereum_score

    def detect(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        longest = longest_token(text)
        if longest < 14:  # the shortest address form, bech32
            return found
        if longest >= 26:
            for match in _BTC_BASE58.finditer(text):
                if is_bitcoin_address(match.group()):
                    found.append(Finding(Label.CRYPTO_WALLET, match.start(), match.end(), self.score, self.name))
        if "bc1" in text or "BC1" in text:
            for match in _BTC_BECH32.finditer(text):
                # Bech32 is case-insensitive but python-stdnum expects lower case.
                if is_bitcoin_address(match.group().lower()):
                    found.append(Finding(Label.CRYPTO_WALLET, match.start(), match.end(), self.score, self.name))
        if "0x" in text:
            for match in _ETHEREUM.finditer(text):
                found.append(
                    Finding(Label.CRYPTO_WALLET, match.start(), match.end(), self.ethereum_score, self.name)
                )
        return found


@lru_cache(maxsize=4096)
def is_bitcoin_address(value: str) -> bool:
    """python-stdnum's check (base58check or bech32), cached per address."""
    return bitcoin.is_valid(value)
