"""The Postgres wire protocol front door: `byom-sql serve`.

messages.py   codec: bytes ↔ messages, no sockets
pgtypes.py    Arrow/DuckDB types → Postgres OIDs, text and binary value codecs
state.py      what a session knows (settings, transaction status) and InterceptResult
pgcatalog.py  pg_catalog / SET / SHOW emulation: answers statements DuckDB cannot
describe.py   parameter types and row descriptions without running a model
session.py    one connection's protocol state machine (runs in a worker thread)
server.py     the asyncio server: startup, auth, TLS, cancel, moving bytes
"""
