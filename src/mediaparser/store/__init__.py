"""Storage: the models, the database session and its dialect differences, and the migrations.

Nothing here knows about jobs, pages or analysis; every layer above reads and
writes the catalogue through these models (`store.models`), one session
(`store.db`, with `write_transaction` and `run_write`), and `store.dialect`
where SQLite and PostgreSQL spell a thing differently.
"""
