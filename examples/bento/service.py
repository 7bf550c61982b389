"""A BentoML service with two APIs (see docs/model-servers.md):

    pip install -r examples/bentoml/requirements.txt
    bentoml serve examples.bento.service:Rent --port 3000   # or, in this folder, service:Rent

/predict takes a DataFrame (rows as records) and answers rental_price per row; /per_room takes a
tensor (rows as lists of initial_price, number_of_rooms) and answers the price per room.
"""

import bentoml
import numpy as np
import pandas as pd


@bentoml.service(workers=1)
class Rent:
    @bentoml.api
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if (frame["initial_price"] < 0).any():
            raise bentoml.exceptions.InvalidArgument("initial_price must be >= 0")
        return (frame["initial_price"] + 100 * frame["number_of_rooms"]).to_numpy()

    @bentoml.api
    def per_room(self, rows: np.ndarray) -> np.ndarray:
        return rows[:, 0] / np.maximum(rows[:, 1], 1)
