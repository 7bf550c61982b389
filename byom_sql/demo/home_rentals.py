"""A home_rentals table with the columns of MindsDB's dataset, generated reproducibly.

Only the raw uniform stream of PCG64 is used (numpy keeps bit generators stable across
versions; the Generator's distribution methods may change), and every value is an integer or a
label, so the same seed gives the same rows, and the same CSV, everywhere.
examples/data/home_rentals.csv is `write_csv` of the defaults (a test checks they agree).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa

SEED = 2022
ROWS = 5000
COLUMNS = (
    "number_of_rooms",
    "number_of_bathrooms",
    "sqft",
    "location",
    "days_on_market",
    "initial_price",
    "neighborhood",
    "rental_price",
)
ROOMS = (0, 1, 2, 3)
ROOM_WEIGHTS = (0.1, 0.35, 0.35, 0.2)
LOCATIONS = ("great", "good", "poor")
LOCATION_WEIGHTS = (0.3, 0.45, 0.25)
LOCATION_FACTOR = (1.15, 1.0, 0.85)
NEIGHBORHOODS = (
    "alcatraz_ave",
    "berkeley_hills",
    "downtown",
    "south_side",
    "thousand_oaks",
    "westbrae",
)
PRICE_PER_SQFT = (3.0, 3.3, 3.5, 2.5, 3.1, 2.8)


def generate(rows: int = ROWS, seed: int = SEED) -> pa.Table:
    """The table: price grows with rooms, size, neighbourhood and location, so a model can
    learn number_of_rooms from the prices."""
    uniform = _Uniform(seed)
    rooms = _choice(uniform(rows), ROOM_WEIGHTS)
    bathrooms = 1 + (uniform(rows) < 0.1 + 0.25 * rooms)
    sqft = np.maximum(250, np.rint(380 + 250 * rooms + 80 * uniform.normal(rows)))
    location = _choice(uniform(rows), LOCATION_WEIGHTS)
    neighborhood = _choice(uniform(rows), (1 / len(NEIGHBORHOODS),) * len(NEIGHBORHOODS))
    days = 1 + np.floor(-12 * np.log1p(-uniform(rows)))
    rate = np.take(PRICE_PER_SQFT, neighborhood) * np.take(LOCATION_FACTOR, location)
    rental = np.maximum(600, np.rint(sqft * rate + 200 * bathrooms + 120 * uniform.normal(rows)))
    initial = np.rint(rental * (1.0 + 0.003 * days + 0.03 * uniform.normal(rows)) / 10) * 10
    return pa.table(
        {
            "number_of_rooms": pa.array(np.take(ROOMS, rooms), pa.int32()),
            "number_of_bathrooms": pa.array(bathrooms, pa.int32()),
            "sqft": pa.array(sqft, pa.int32()),
            "location": pa.array(np.take(LOCATIONS, location).tolist(), pa.string()),
            "days_on_market": pa.array(days, pa.int32()),
            "initial_price": pa.array(initial, pa.int32()),
            "neighborhood": pa.array(np.take(NEIGHBORHOODS, neighborhood).tolist(), pa.string()),
            "rental_price": pa.array(rental, pa.int32()),
        }
    )


def csv_text(table: pa.Table) -> str:
    """The table as CSV with a header: plain integers and labels, no quoting, \\n line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    writer.writerows(zip(*(column.to_pylist() for column in table.columns), strict=True))
    return out.getvalue()


def write_csv(path: Path, rows: int = ROWS, seed: int = SEED) -> None:
    path.write_text(csv_text(generate(rows, seed)), encoding="utf-8")


class _Uniform:
    """Uniform doubles in [0, 1) straight from PCG64, and normals made from them."""

    def __init__(self, seed: int):
        self._generator = np.random.Generator(np.random.PCG64(seed))

    def __call__(self, n: int) -> np.ndarray:
        return self._generator.random(n)

    def normal(self, n: int) -> np.ndarray:
        """Box-Muller: two uniforms per normal."""
        radius = np.sqrt(-2.0 * np.log1p(-self(n)))
        return np.asarray(radius * np.cos(2.0 * np.pi * self(n)))


def _choice(u: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Indices drawn with the given weights (which sum to 1)."""
    edges = np.cumsum(weights)[:-1]
    return np.searchsorted(edges, u, side="right")


if __name__ == "__main__":
    import sys

    write_csv(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("home_rentals.csv"))
