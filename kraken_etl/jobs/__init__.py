"""The composition layer: each job wires the Kraken client, the pure core and the database together.

One module per job or concern, one public entry per job, one result type (`core.results.JobResult`). A
command's entry owns the account's lock, the tuning and building the request; the CLI and `flows/` only
parse arguments and call it:

- `streams`    every per-stream fact, declared once (`StreamSpec`)
- `validation` pandera checks of a parsed batch (the rules live on the spec)
- `window`     `run_window`: a frozen, paged REST window → parse → validate → load (sync and backfill)
- `amends`     `sync_order_amends`: the OrderAmends trails of amended orders
- `balances`   `snapshot_balances`: Balance + BalanceEx + TradeBalance
- `sync`       `run_sync`: every stream of an account up to one signpost, under its lock
- `fileload`   `load_export_file` / `import_files`: Kraken export files through the shared loader
- `imports`    `run_import`: `kraken-etl import` (label choice, the account's lock, the refresh after)
- `exportcycle` `run_export`: AddExport → ExportStatus → RetrieveExport → load → RemoveExport, resumable
- `backfill`   `run_backfill`: a past range of every stream, by export or REST, under the account's lock
- `demo`       the zero-config demo's steps
- `status`     `read_status`: what `kraken-etl status` shows
- `reconcile`  `reconcile_accounts`: `kraken-etl reconcile` and the reconcile flow
- `runlog`, `events`, `errors`, `wiring`: the run log, progress events, errors, settings → client/engine
- `exportzip`: verifies an export file (zip safety, size, CRC, UTF-8, header) before a row is parsed
- `plan`, `accounts`, `exclusive`, `nightly`, `artifact`: backfill planning, import account labels, the
  per-account lock with the nonce hand-over, the nightly job and its artifact text

Reconciliation (`kraken_etl.recon`), the listener (`kraken_etl.listen`) and the report
(`kraken_etl.report`) are sibling packages. This package never imports the CLI or `flows/`, and it
re-exports nothing: import from the module that defines a name.
"""
