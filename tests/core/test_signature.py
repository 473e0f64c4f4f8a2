from __future__ import annotations

from kraken_etl.core.signature import sign, verify

# Kraken's official worked example (Spot REST Authentication guide).
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NONCE = 1616492376594
PATH = "/0/private/AddOrder"
BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
EXPECTED = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="


def test_official_vector() -> None:
    assert sign(PATH, NONCE, BODY, SECRET) == EXPECTED


def test_verify_accepts_the_vector_and_rejects_a_changed_body() -> None:
    assert verify(PATH, NONCE, BODY.encode(), SECRET, EXPECTED)
    assert not verify(PATH, NONCE, BODY.replace("1.25", "1.26").encode(), SECRET, EXPECTED)
    assert not verify("/0/private/Ledgers", NONCE, BODY.encode(), SECRET, EXPECTED)


def test_verify_rejects_a_bad_secret() -> None:
    assert not verify(PATH, NONCE, BODY.encode(), "not base64!", EXPECTED)
