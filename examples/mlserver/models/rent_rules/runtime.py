"""A custom MLServer runtime that takes one tensor per column (MLServer's pandas codec reads
them as a frame) and answers two outputs: rental_price and a price band."""

from mlserver import MLModel
from mlserver.codecs import NumpyCodec, PandasCodec, StringCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse

EXTRA = {"downtown": 300, "berkeley": 200}


class RentRules(MLModel):
    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        frame = PandasCodec.decode_request(payload)
        if (frame["initial_price"] < 0).any():
            raise MLServerError("initial_price must be >= 0", status_code=400)
        extra = frame["neighborhood"].map(lambda n: EXTRA.get(n, 0)).to_numpy()
        price = frame["initial_price"].to_numpy() + 100 * frame["number_of_rooms"].to_numpy()
        price = price + extra
        band = ["high" if p >= 4000 else "low" for p in price]
        outputs = [NumpyCodec.encode_output("rental_price", price), StringCodec.encode_output("band", band)]
        return InferenceResponse(model_name=self.name, outputs=outputs)
