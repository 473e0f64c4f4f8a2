"""Run inside .venv-compat (ccxt's own environment): call ccxt's kraken against a base URL, print JSON.

argv: BASE_URL API_KEY API_SECRET (the secret arrives by argv from the test process only).
"""

import json
import sys

import ccxt


def main() -> None:
    base, key, secret = sys.argv[1:4]
    exchange = ccxt.kraken({"apiKey": key, "secret": secret, "enableRateLimit": False,
                            "urls": {"api": {"public": base, "private": base}}})
    ledger = exchange.fetch_ledger()
    page2 = exchange.fetch_ledger(params={"ofs": 50})
    trades = exchange.fetch_my_trades()
    orders = exchange.fetch_closed_orders()
    balance = exchange.fetch_balance()
    print(json.dumps({
        "ledger": [{"id": e["id"], "info": e["info"], "amount": e["amount"], "currency": e["currency"]}
                   for e in ledger],
        "ledger_page2": [e["id"] for e in page2],
        "trades": [{"id": t["id"], "order": t["order"], "info": t["info"], "symbol": t["symbol"]}
                   for t in trades],
        "orders": [{"id": o["id"], "status": o["status"], "filled": o["filled"], "info": o["info"]}
                   for o in orders],
        "balance_info": balance["info"],
        "balance_total": {k: v for k, v in balance["total"].items()},
    }))


if __name__ == "__main__":
    main()
