"""Train the scikit-learn model MLServer serves from models/rent (see README.md here).

    python examples/mlserver/train.py --output examples/mlserver/models/rent

A linear regression of rental_price on number_of_rooms, sqft and days_on_market, fitted on a
NumPy array: the model takes one 2-D tensor of the three values per row, in that order.
"""

import argparse
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression

DATA = Path(__file__).resolve().parents[1] / "data" / "home_rentals.csv"
FEATURES = ["number_of_rooms", "sqft", "days_on_market"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the home_rentals model for MLServer.")
    parser.add_argument("--output", required=True, type=Path, help="the model's folder")
    output = parser.parse_args().output
    rows = pd.read_csv(DATA)
    model = LinearRegression().fit(rows[FEATURES].to_numpy(dtype=float), rows["rental_price"])
    joblib.dump(model, output / "model.joblib")


if __name__ == "__main__":
    main()
