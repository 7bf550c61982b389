"""A fast model endpoint for benchmarks: a bare asyncio HTTP/1.1 server with keep-alive that
speaks the ray_serve predict contract and MLflow's /invocations (dataframe_split).

    python bench/fast_model_server.py [--port 0]     prints "PORT <n>" once listening

The "model" is the sum of each row's numeric values, so the server's own cost is JSON decoding
and a vectorised sum: the benchmark measures the client, not the model.
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np
import orjson


def predict(body: bytes, path: str) -> bytes:
    payload = orjson.loads(body)
    if path.endswith("/invocations"):
        split = payload["dataframe_split"]
        values = np.asarray(split["data"], dtype=np.float64)
        return orjson.dumps({"predictions": values.sum(axis=1)}, option=orjson.OPT_SERIALIZE_NUMPY)
    frame = orjson.loads(payload["df"])
    if isinstance(frame, dict):  # columns layout
        values = np.column_stack([np.asarray(v, dtype=np.float64) for v in frame.values()])
    else:
        values = np.asarray([list(row.values()) for row in frame], dtype=np.float64)
    return orjson.dumps({"prediction": values.sum(axis=1)}, option=orjson.OPT_SERIALIZE_NUMPY)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                k.lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if method == "GET":
                status, reply, kind = b"200 OK", b"2.17.0", b"text/plain"
            else:
                try:
                    status, reply, kind = b"200 OK", predict(body, path), b"application/json"
                except (KeyError, ValueError, TypeError) as exc:
                    status, reply, kind = b"400 Bad Request", str(exc).encode(), b"text/plain"
            writer.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: "
                + kind
                + b"\r\nContent-Length: "
                + str(len(reply)).encode()
                + b"\r\n\r\n"
                + reply
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))
