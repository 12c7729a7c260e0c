"""is_truthy (Kestra's rules) and mask_secrets."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.expressions import is_truthy, mask_secrets


@pytest.mark.parametrize("value", [None, False, 0, 0.0, "", "   ", "0", "false", "FALSE", " False\n"])
def test_falsy(value: Any) -> None:
    assert is_truthy(value) is False


@pytest.mark.parametrize(
    "value", [True, 1, -1, 0.5, "true", "yes", "no", "00", "null", [], {}, [0], "falsey"]
)
def test_truthy(value: Any) -> None:
    assert is_truthy(value) is True


def test_mask_every_occurrence() -> None:
    assert mask_secrets("token=abc123 again abc123", ["abc123"]) == "token=****** again ******"


def test_short_secrets_are_not_masked() -> None:
    assert mask_secrets("a ab abc", ["a", "ab", "abc"]) == "a ab ******"


def test_longest_secret_first_and_regex_chars() -> None:
    assert mask_secrets("pass: p4ss.word+1", ["p4ss", "p4ss.word+1"]) == "pass: ******"
    assert mask_secrets("x.y*z", [".y*"]) == "x******z"


def test_no_secrets_or_text() -> None:
    assert mask_secrets("plain", []) == "plain"
    assert mask_secrets("", ["secret"]) == ""


def test_base64_forms_are_masked_too() -> None:
    import base64

    secret = "a?>~secret"
    standard = base64.b64encode(secret.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(secret.encode()).decode()
    assert standard != urlsafe and standard.endswith("=")
    text = f"SECRET_DB={standard} url={urlsafe} bare={standard.rstrip('=')} plain={secret}"
    masked = mask_secrets(text, [secret])
    assert secret not in masked and standard.rstrip("=") not in masked and urlsafe.rstrip("=") not in masked
    assert masked.count("******") == 4
