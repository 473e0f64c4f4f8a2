"""The pure ring: records, money, time, windows, parsers and checks.

Nothing in here may import httpx, sqlalchemy, psycopg, prefect or read the clock; a test enforces it.
"""
