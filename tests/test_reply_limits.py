"""Model replies are bounded: a reply that never ends or drips is cut at `timeout` (the whole
call, not each read), a huge one at `max_reply_bytes` without being held, and a redirect is
refused unless the engine follows redirects, each hop then checked against the allowed hosts.
A model server's cookies are not kept: they would travel to other sessions' calls."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

import byom_sql
from tests.conftest import create_byom, load_home_rentals
from tests.model_server import Misbehaviour, ModelServer

JOIN = "SELECT t.initial_price, p.number_of_rooms FROM home_rentals t JOIN byom p"


@pytest.mark.parametrize(
    "misbehaviour",
    [Misbehaviour(endless=True), Misbehaviour(drip=0.05)],
    ids=["endless", "drip"],
)
def test_a_reply_that_does_not_end_is_cut_at_the_timeout(
    rentals: byom_sql.Connection, model_server: ModelServer, misbehaviour: Misbehaviour
) -> None:
    rentals.sql(f"CREATE OR REPLACE PREDICTOR byom PREDICT number_of_rooms USING "
                f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
                "timeout = 1, retries = 2")  # fmt: skip
    model_server.misbehaviour = misbehaviour
    started = time.monotonic()
    with pytest.raises(byom_sql.ModelUnavailable, match=r"did not answer within 1 s") as raised:
        rentals.sql(JOIN).fetchall()
    took = time.monotonic() - started
    assert took < 1 * 3 + 1, f"{took:.1f} s for timeout = 1 and 3 attempts"
    assert "timeout" in (raised.value.hint or "")
    model_server.misbehaviour = None
    assert len(rentals.sql(JOIN).fetchall()) == 1000


def test_a_reply_over_max_reply_bytes_is_refused(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    rentals.sql(f"CREATE OR REPLACE PREDICTOR byom PREDICT number_of_rooms USING "
                f"url.predict = '{model_server.url}/ray/predict', format = 'ray_serve', "
                "max_reply_bytes = 100000")  # fmt: skip
    model_server.misbehaviour = Misbehaviour(huge=5_000_000)
    with pytest.raises(byom_sql.ModelProtocolError, match=r"more than 100000 bytes") as raised:
        rentals.sql(JOIN).fetchall()
    assert "max_reply_bytes" in (raised.value.hint or "")


MEMORY = """
import resource, sys
import byom_sql
con = byom_sql.connect()
con.sql("CREATE TABLE t AS SELECT range AS x FROM range(10)")
con.sql("CREATE PREDICTOR p PREDICT y USING url.predict = '" + sys.argv[1] + "', "
        "format = 'ray_serve', max_reply_bytes = 10000000")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    con.sql("SELECT * FROM t JOIN p").fetchall()
except byom_sql.ModelProtocolError as error:
    print("refused:", error.message)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("grew", (after - before) // 1024)
"""


def test_a_huge_reply_is_never_held_whole(model_server: ModelServer) -> None:
    model_server.misbehaviour = Misbehaviour(huge=400_000_000)
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEMORY), f"{model_server.url}/ray/predict"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "refused:" in run.stdout and "more than 10000000 bytes" in run.stdout, run.stderr
    grew = int(run.stdout.split("grew")[1])
    assert grew < 100, f"peak memory grew {grew} MB for a 400 MB reply cut at 10 MB"


def test_redirects_are_refused_by_default(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.misbehaviour = Misbehaviour(redirect=f"{model_server.url}/ray/predict", times=1)
    with pytest.raises(byom_sql.ModelProtocolError, match=r"307, a redirect to .* not followed"):
        rentals.sql(JOIN).fetchall()


def test_followed_redirects_are_checked_at_every_hop(model_server: ModelServer) -> None:
    other = ModelServer().start()
    try:
        allowed = [f"127.0.0.1:{model_server.port}"]
        with byom_sql.connect(follow_redirects=True, model_hosts=allowed) as con:
            load_home_rentals(con)
            create_byom(con, model_server)
            model_server.misbehaviour = Misbehaviour(redirect="/ray/predict", times=1)
            assert len(con.sql(JOIN).fetchall()) == 1000  # followed, to the same host
            target = f"{other.url}/ray/predict"
            model_server.misbehaviour = Misbehaviour(redirect=target, times=1)
            with pytest.raises(byom_sql.InsufficientPrivilege, match=r"not allowed"):
                con.sql(JOIN).fetchall()
            assert not other.requests
    finally:
        other.stop()


def test_a_cookie_a_model_server_sets_is_not_sent_back(
    rentals: byom_sql.Connection, model_server: ModelServer
) -> None:
    model_server.misbehaviour = Misbehaviour(cookie="session=secret-of-another-user")
    assert len(rentals.sql(JOIN).fetchall()) == 1000
    model_server.misbehaviour = None
    model_server.requests.clear()
    assert len(rentals.sql(JOIN).fetchall()) == 1000
    sent = model_server.predict_requests()
    assert sent and all("cookie" not in r.headers for r in sent)
