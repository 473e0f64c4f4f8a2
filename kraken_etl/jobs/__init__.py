"""The composition layer: each job wires the Kraken client, the pure core and the database together.

One module per job or concern, one public entry per job, one result type (`core.results.JobResult`):

- `streams`    every per-stream fact, declared once (`StreamSpec`)
- `validation` pandera checks of a parsed batch (the rules live on the spec)
- `window`     `run_window`: a frozen, paged REST window → parse → validate → load (sync and backfill)
- `amends`     `sync_order_amends`: the OrderAmends trails of amended orders
- `balances`   `snapshot_balances`: Balance + BalanceEx + TradeBalance
- `sync`       `sync_account` / `sync_label`: every stream of an account up to one signpost
- `fileload`   `load_export_file` / `import_files`: Kraken export files through the shared loader
- `exportcycle` `run_export`: AddExport → ExportStatus → RetrieveExport → load → RemoveExport, resumable
- `backfill`   `backfill` / `backfill_label`: a past range of every stream, by export or REST
- `demo`       the zero-config demo's steps
- `runlog`, `events`, `errors`, `wiring`: the run log, progress events, errors, settings → client/engine
- `exportzip`: verifies an export file (zip safety, size, CRC, UTF-8, header) before a row is parsed
- `plan`, `accounts`, `exclusive`, `nightly`, `artifact`: backfill planning, import account labels, the
  per-account lock with the nonce hand-over, the nightly job and its artifact text

Reconciliation (`kraken_etl.recon`), the listener (`kraken_etl.listen`) and the report
(`kraken_etl.report`) are sibling packages. This package never imports the CLI or `flows/`, and it
re-exports nothing: import from the module that defines a name.
"""
