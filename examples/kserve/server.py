"""A model on KServe's Python ModelServer, answering the Open Inference Protocol (v2) with JSON
or binary tensors:

    pip install -r examples/kserve/requirements.txt
    python examples/kserve/server.py --http_port 8080 --enable_grpc false

(the flags are ModelServer's own).

rental_price = initial_price + 100 × number_of_rooms + sqft // 2, and the price per room as a
second output. The metadata (GET /v2/models/rent) names the tensors.
"""

import uuid

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.errors import InvalidInput

INPUTS = ["initial_price", "number_of_rooms", "sqft"]


class Rent(Model):
    def __init__(self) -> None:
        super().__init__("rent")
        self.ready = True

    def get_input_types(self) -> list[dict]:
        return [{"name": n, "datatype": "INT64", "shape": [-1]} for n in INPUTS]

    def get_output_types(self) -> list[dict]:
        return [
            {"name": "rental_price", "datatype": "INT64", "shape": [-1]},
            {"name": "per_room", "datatype": "FP64", "shape": [-1]},
        ]

    async def predict(self, payload: InferRequest, headers=None, response_headers=None):
        values = {i.name: i.as_numpy().reshape(-1) for i in payload.inputs}
        missing = [n for n in INPUTS if n not in values]
        if missing:
            raise InvalidInput(f"missing inputs: {', '.join(missing)}")
        if (values["initial_price"] < 0).any():
            raise InvalidInput("initial_price must be >= 0")
        rooms = values["number_of_rooms"].astype(np.int64)
        price = values["initial_price"].astype(np.int64) + 100 * rooms + values["sqft"] // 2
        per_room = price / np.maximum(rooms, 1)
        outputs = [
            InferOutput("rental_price", list(price.shape), "INT64", price),
            InferOutput("per_room", list(per_room.shape), "FP64", per_room),
        ]
        return InferResponse(str(payload.id or uuid.uuid4()), self.name, outputs)


if __name__ == "__main__":
    ModelServer().start([Rent()])
