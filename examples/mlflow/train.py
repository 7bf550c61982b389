"""Train a scikit-learn model on home_rentals and save it in MLflow's format, ready for
`mlflow models serve` (see README.md beside this file).

    pip install -r examples/mlflow/requirements.txt
    python examples/mlflow/train.py --output /tmp/home_rentals_model

The model predicts rental_price from the other columns: a linear regression, with the two label
columns one-hot encoded. The saved signature tells MLflow the input columns and their types.
"""

import argparse
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

DATA = Path(__file__).resolve().parents[1] / "data" / "home_rentals.csv"
TARGET = "rental_price"
LABELS = ["location", "neighborhood"]
NUMBERS = ["number_of_rooms", "number_of_bathrooms", "sqft", "days_on_market"]


def train(rows: pd.DataFrame) -> Pipeline:
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), LABELS), ("passthrough", NUMBERS)
    )
    return make_pipeline(encode, LinearRegression()).fit(rows[LABELS + NUMBERS], rows[TARGET])


def main() -> int:
    parser = argparse.ArgumentParser(description="Train and save the home_rentals model.")
    parser.add_argument("--output", required=True, type=Path, help="directory to create")
    parser.add_argument("--data", default=DATA, type=Path, help=f"CSV (default: {DATA})")
    args = parser.parse_args()
    if args.output.exists():
        print(f"{args.output} exists: choose a new directory", file=sys.stderr)
        return 1
    rows = pd.read_csv(args.data)
    features = rows[LABELS + NUMBERS]
    model = train(rows)
    with warnings.catch_warnings():  # the data has no NULLs: integer columns are right
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(features, model.predict(features))
    # naming the requirements spares MLflow a slow subprocess that would infer them
    requirements = [f"{p}=={version(p)}" for p in ("scikit-learn", "skops", "pandas")]
    mlflow.sklearn.save_model(
        model, str(args.output), signature=signature, pip_requirements=requirements
    )
    print(f"saved to {args.output}; serve it with:")
    print(f"  mlflow models serve -m {args.output} --env-manager local -h 127.0.0.1 -p 5000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
