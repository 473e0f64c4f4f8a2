"""The subscription handshake of one new connection: executions (order and trade snapshots) and
balances (snapshot), each acknowledged before the listener consumes.

A subscription refused with Kraken's ``EAPI:Invalid token`` (a token that expired between its fetch and
its use) is retried once per channel with a fresh token; any other refusal, or no acknowledgement within
`timeout` seconds, fails the connection (the listener reconnects with backoff). Messages that arrive
meanwhile (a snapshot may come before the other channel's acknowledgement) go through `handle` like any
other.
"""

from __future__ import annotations

from collections.abc import Callable

from kraken_etl.core.clock import Clock
from kraken_etl.core.wsframes import Frame
from kraken_etl.kraken.ws import TokenKeeper, WsConnection, WsDisconnected, WsSubscriptionRefused, WsToken


def subscribe(conn: WsConnection, token: WsToken, tokens: TokenKeeper, clock: Clock, timeout: float,
              handle: Callable[[str], Frame | None]) -> None:
    """Subscribe `conn` to both private channels with `token` (fresh for this connection); closes `conn`
    on failure.

    Raises:
        WsDisconnected: when the socket closes or no acknowledgement comes in time.
        WsSubscriptionRefused: when Kraken refuses a subscription (other than one expired token).
        KrakenError: from fetching a token for the retry.
    """
    try:
        pending = {"executions", "balances"}
        requests = dict(zip(conn.subscribe_private(token), ("executions", "balances"), strict=True))
        deadline = clock.now() + timeout
        retried: set[str] = set()
        while pending:
            text = conn.recv(deadline - clock.now())
            if text is None:
                raise WsDisconnected("no subscription acknowledgement in time")
            frame = handle(text)
            if frame is None:
                continue
            if frame.kind == "ack" and frame.channel in pending:
                pending.discard(frame.channel)
            elif frame.kind == "error":
                error = str(frame.message.get("error", "refused"))
                channel = requests.get(frame.message.get("req_id"), next(iter(pending)))  # type: ignore[arg-type]
                if "Invalid token" in error and channel not in retried:  # Kraken's own error text
                    retried.add(channel)
                    requests[conn.subscribe(channel, tokens.fresh())] = channel
                    continue
                raise WsSubscriptionRefused(channel, error)
    except BaseException:
        conn.close()
        raise
