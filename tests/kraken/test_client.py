from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from kraken_etl.core.callcounter import TIERS
from kraken_etl.jobs.streams import CLOSED_ORDERS, LEDGERS, ORDER_AMENDS, TRADES
from kraken_etl.kraken import errors as e
from kraken_etl.kraken.calls import ADD_EXPORT, BALANCE, BALANCE_EX, WEBSOCKETS_TOKEN, PrivateCall
from kraken_etl.kraken.client import RetryPolicy
from tests.kraken.conftest import API_SECRET, FakeClock, ScriptedKraken, envelope, make_client


def test_private_signs_sends_nonce_and_decodes_decimals(clock: FakeClock) -> None:
    fake = ScriptedKraken([envelope({"ledger": {"L1": {"amount": "1.5", "time": Decimal("1.25")}}})])
    raw = httpx.Response(200, text='{"error":[],"result":{"x":1688464484.1787}}')
    fake.replies.append(raw)  # type: ignore[union-attr]
    with make_client(fake, clock) as client:
        result = client.private(LEDGERS.call, {"ofs": 50, "without_count": True})
        second = client.private(BALANCE)
    assert result["ledger"]["L1"]["amount"] == "1.5"
    assert second["x"] == Decimal("1688464484.1787") and isinstance(second["x"], Decimal)
    path, params = fake.requests[0]
    assert path == "/0/private/Ledgers" and params["ofs"] == "50" and params["without_count"] == "true"
    assert fake.requests[1][0] == "/0/private/Balance"


def test_public_get_has_no_signature(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "API-Sign" not in request.headers
        assert request.method == "GET" and request.url.params["pair"] == "XBTUSD"
        return envelope({"unixtime": 1})

    with make_client(handler, clock) as client:
        assert client.public("Time", {"pair": "XBTUSD"}) == {"unixtime": 1}


@pytest.mark.parametrize(
    "text", ["EAPI:Invalid key", "EAPI:Invalid signature", "EGeneral:Permission denied",
             "EGeneral:Invalid arguments:ofs", "EGeneral:Unknown method", "EWhat:Ever"]
)
def test_fatal_errors_fail_fast_with_one_call(clock: FakeClock, text: str) -> None:
    fake = ScriptedKraken(lambda path, params: envelope(errors=[text]))
    with make_client(fake, clock) as client, pytest.raises(e.KrakenError) as info:
        client.private(LEDGERS.call)
    assert not info.value.retryable
    assert len(fake.requests) == 1
    assert clock.sleeps == []
    assert API_SECRET not in str(info.value)


def test_transient_failures_are_retried_then_succeed(clock: FakeClock) -> None:
    fake = ScriptedKraken([
        httpx.Response(520, text="<html>cloudflare</html>"),
        envelope(errors=["EService:Unavailable"]),
        httpx.Response(200, text='{"error":[],"res'),
        envelope(errors=["EService:Busy"]),
        envelope(errors=["EGeneral:Internal error"]),
        envelope({"ok": True}),
    ])
    with make_client(fake, clock) as client:
        assert client.private(BALANCE) == {"ok": True}
        assert client.stats.retries == 5 and client.stats.calls == 6
        assert client.stats.backoff_wait > 0


def test_transport_errors_are_retried(clock: FakeClock) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if calls["n"] == 2:
            raise httpx.ConnectError("refused", request=request)
        return envelope({"ok": 1})

    with make_client(handler, clock) as client:
        assert client.private(BALANCE) == {"ok": 1}


def test_retries_are_bounded_and_chained(clock: FakeClock) -> None:
    fake = ScriptedKraken(lambda path, params: envelope(errors=["EService:Unavailable"]))
    with make_client(fake, clock, retry=RetryPolicy(max_attempts=4)) as client, \
            pytest.raises(e.RetriesExhausted) as info:
        client.private(BALANCE)
    assert len(fake.requests) == 4
    assert isinstance(info.value.__cause__, e.ServiceUnavailable)
    assert info.value.retryable


def test_backoff_is_exponential_with_full_jitter(clock: FakeClock) -> None:
    """Full jitter: the n-th wait is uniform over [0, min(max, base*2**(n-1))] — the whole range, not half."""
    fake = ScriptedKraken(lambda path, params: envelope(errors=["EService:Unavailable"]))
    policy = RetryPolicy(max_attempts=5, backoff_base=1.0, backoff_max=100.0)
    with make_client(fake, clock, retry=policy) as client, pytest.raises(e.RetriesExhausted):
        client.private(BALANCE)
    backoffs = [s for s in clock.sleeps if s > 0]
    assert len(backoffs) == 4
    for n, delay in enumerate(backoffs):
        assert 0 <= delay <= 2**n


def test_full_jitter_spans_the_whole_range() -> None:
    import random

    from kraken_etl.kraken.retry import full_jitter

    rng = random.Random(7)
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    waits = [full_jitter(policy, 4, rng) for _ in range(2000)]
    assert max(waits) <= 8.0 and min(waits) >= 0.0
    assert sum(w < 4.0 for w in waits) > 800  # half-jitter would never go below 4
    assert max(full_jitter(policy, 30, rng) for _ in range(100)) <= 8.0  # capped at backoff_max


def test_invalid_nonce_is_retried_once_with_a_fresh_nonce(clock: FakeClock) -> None:
    fake = ScriptedKraken([envelope(errors=["EAPI:Invalid nonce"]), envelope({"ok": 1})])
    with make_client(fake, clock) as client:
        assert client.private(BALANCE) == {"ok": 1}
    assert fake.nonces[1] > fake.nonces[0]

    again = ScriptedKraken(lambda path, params: envelope(errors=["EAPI:Invalid nonce"]))
    with make_client(again, clock) as client, pytest.raises(e.InvalidNonce):
        client.private(BALANCE)
    assert len(again.requests) == 2


def test_rate_limit_error_cools_down_before_retrying(clock: FakeClock) -> None:
    fake = ScriptedKraken([envelope(errors=["EAPI:Rate limit exceeded"]), envelope({"ok": 1})])
    tier = TIERS["starter"]
    with make_client(fake, clock, tier=tier) as client:
        start = clock.now()
        client.private(BALANCE)
        # the retry waited for the counter to drain enough for one more call (cost 1)
        assert clock.now() - start >= 1 / tier.decay_per_second * 0.9
        assert client.stats.rate_limited == 1


def test_service_throttled_waits_until_the_given_time(clock: FakeClock) -> None:
    until = int(clock.now()) + 30
    fake = ScriptedKraken([envelope(errors=[f"EService:Throttled:{until}"]), envelope({"ok": 1})])
    with make_client(fake, clock) as client:
        client.private(BALANCE)
    assert clock.now() >= until


def test_temporary_lockout_waits_within_a_bounded_total(clock: FakeClock) -> None:
    fake = ScriptedKraken([envelope(errors=["EGeneral:Temporary lockout"])] * 2 + [envelope({"ok": 1})])
    policy = RetryPolicy(lockout_probe_seconds=100, lockout_budget_seconds=300)
    with make_client(fake, clock, retry=policy) as client:
        assert client.private(BALANCE) == {"ok": 1}
    assert [s for s in clock.sleeps if s >= 100] == [100, 100]

    forever = ScriptedKraken(lambda path, params: envelope(errors=["EGeneral:Temporary lockout"]))
    with make_client(forever, clock, retry=policy) as client, pytest.raises(e.TemporaryLockout):
        client.private(BALANCE)
    assert len(forever.requests) == 4  # 1 + 3 probes of 100 s within 300 s: no hammering


def test_counter_waits_proactively_and_never_overflows(clock: FakeClock) -> None:
    """A simple server-side counter: the client must never trip it, and must run near its ceiling."""
    from kraken_etl.core.callcounter import CallCounter

    tier = TIERS["intermediate"]
    server = CallCounter(tier)

    def handler(path: str, params: dict[str, str]) -> httpx.Response:
        cost = 2 if path.endswith("Ledgers") else 1
        if not server.try_spend(cost, clock.now()):
            return envelope(errors=["EAPI:Rate limit exceeded"])
        return envelope({"ok": 1})

    fake = ScriptedKraken(handler)
    with make_client(fake, clock, tier=tier) as client:
        start = clock.now()
        for _ in range(200):
            client.private(LEDGERS.call)
        elapsed = clock.now() - start
    assert client.stats.rate_limited == 0
    # ceiling: the initial burst (limit) plus decay over the elapsed time, in cost units
    ceiling = (tier.limit + tier.decay_per_second * elapsed) / 2
    assert 200 / ceiling > 0.97


def test_missing_credentials_is_fatal_without_a_call(clock: FakeClock) -> None:
    from kraken_etl.kraken.client import KrakenClient

    client = KrakenClient("https://kraken.test", api_key=None, api_secret=None, clock=clock,
                          transport=httpx.MockTransport(lambda r: envelope({})))
    with pytest.raises(e.MissingCredentials):
        client.private(BALANCE)


def test_repr_hides_secrets(clock: FakeClock) -> None:
    client = make_client(ScriptedKraken([]), clock)
    assert API_SECRET not in repr(client) and "test-key" not in repr(client)
    assert API_SECRET not in repr(client._auth)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 301, 418])
def test_other_http_statuses_fail_at_once_naming_status_and_host(clock: FakeClock, status: int) -> None:
    fake = ScriptedKraken(lambda path, params: httpx.Response(status, text="nope"))
    with make_client(fake, clock) as client, pytest.raises(e.HttpStatusError) as info:
        client.private(BALANCE)
    assert len(fake.requests) == 1 and clock.sleeps == []
    text = str(info.value)
    assert f"HTTP {status}" in text and "kraken.test" in text and "\n" not in text


@pytest.mark.parametrize("status", [429, 500, 502, 503, 520, 525])
def test_429_and_5xx_are_retried(clock: FakeClock, status: int) -> None:
    fake = ScriptedKraken([httpx.Response(status, text="busy"), envelope({"ok": 1})])
    with make_client(fake, clock) as client:
        assert client.private(BALANCE) == {"ok": 1}
    assert len(fake.requests) == 2


def test_an_html_page_is_a_wrong_url_not_a_retry(clock: FakeClock) -> None:
    fake = ScriptedKraken(lambda path, params: httpx.Response(200, text="<!doctype html><p>hello</p>"))
    with make_client(fake, clock) as client, pytest.raises(e.MalformedResponse) as info:
        client.private(BALANCE)
    assert len(fake.requests) == 1 and "KRAKEN_API_URL" in str(info.value)


def test_rate_limit_storm_of_20_is_ridden_out_within_the_counter_budget(clock: FakeClock) -> None:
    """Regression: 20 consecutive EAPI:Rate limit exceeded aborted after 8 attempts; now a time budget."""
    replies = [envelope(errors=["EAPI:Rate limit exceeded"]) for _ in range(20)] + [envelope({"ok": 1})]
    fake = ScriptedKraken(replies)
    tier = TIERS["starter"]
    with make_client(fake, clock, tier=tier) as client:
        start = clock.now()
        assert client.private(BALANCE) == {"ok": 1}
        assert client.stats.rate_limited == 20 and len(fake.requests) == 21
        # each retry waited for real decay of the modelled counter, never a blind hammering
        assert clock.now() - start >= 20 * (1 / tier.decay_per_second) * 0.9


def test_an_endless_rate_limit_fails_after_the_time_budget(clock: FakeClock) -> None:
    fake = ScriptedKraken(lambda path, params: envelope(errors=["EAPI:Rate limit exceeded"]))
    tier = TIERS["starter"]
    policy = RetryPolicy(rate_limit_drains=2.0)
    with make_client(fake, clock, tier=tier, retry=policy) as client, \
            pytest.raises(e.RetriesExhausted) as info:
        start = clock.now()
        client.private(BALANCE)
    budget = 2.0 * tier.limit / tier.decay_per_second
    assert budget <= clock.now() - start <= budget + 2 * tier.limit / tier.decay_per_second
    assert isinstance(info.value.__cause__, e.RateLimitExceeded) and "rate limited" in str(info.value)


def test_a_refused_connection_fails_within_a_few_connect_attempts(clock: FakeClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with make_client(refuse, clock) as client, pytest.raises(e.RetriesExhausted) as info:
        client.private(BALANCE)
    assert client.stats.calls == 3 and sum(clock.sleeps) < 2.0
    assert "kraken.test" in str(info.value)


@pytest.mark.parametrize(
    ("call", "permission"),
    [
        (LEDGERS.call, "Query Ledger Entries"),
        (TRADES.call, "Query Closed Orders & Trades"),
        (CLOSED_ORDERS.call, "Query Closed Orders & Trades"),
        (ORDER_AMENDS.call, "Query Open Orders & Trades or Query Closed Orders & Trades"),
        (BALANCE, "Query Funds"),
        (BALANCE_EX, "Query Funds"),
        (ADD_EXPORT, "Export Data"),
        (WEBSOCKETS_TOKEN, "Access WebSocket API"),
    ],
    ids=lambda v: v.method if isinstance(v, PrivateCall) else "",
)
def test_permission_denied_names_the_permission_the_call_declares(
    clock: FakeClock, call: PrivateCall, permission: str
) -> None:
    fake = ScriptedKraken(lambda path, params: envelope(errors=["EGeneral:Permission denied"]))
    with make_client(fake, clock) as client, pytest.raises(e.PermissionDenied) as info:
        client.private(call)
    assert f"'{permission}'" in str(info.value) and call.method in str(info.value)
    assert fake.requests[0][0] == f"/0/private/{call.method}"


def test_the_counter_charges_the_cost_the_call_declares(clock: FakeClock) -> None:
    """The client never guesses a cost by method name: a call declared at 7 units fills the counter by 7."""
    fake = ScriptedKraken(lambda path, params: envelope({}))
    with make_client(fake, clock) as client:
        client.private(PrivateCall("Ledgers", "Query Ledger Entries", cost=7))
        assert client._counter.level(clock) == pytest.approx(7, abs=0.01)
        client.private(LEDGERS.call)
        assert client._counter.level(clock) == pytest.approx(7 + LEDGERS.cost, abs=0.01)
