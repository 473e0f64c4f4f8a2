"""`python -m kraken_etl` runs the `kraken-etl` command."""

from kraken_etl.cli import main

if __name__ == "__main__":
    main()
