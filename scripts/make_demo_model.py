"""Build the demo model and data shipped in ``src/scorecast/demo/`` (run once; outputs committed).

A logistic regression predicting hospital readmission (binary target ``readmitted``, positive
class ``yes``) from three numeric features and one categorical feature, converted to ONNX with
skl2onnx (one input per feature, which scorecast's ONNX predictor reads by name).

    python scripts/make_demo_model.py

Needs the test extra (scikit-learn, skl2onnx). Deterministic: the same files every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DEMO = Path(__file__).resolve().parents[1] / "src" / "scorecast" / "demo"
NUMERIC = ["age", "visits_last_year", "medications"]
CATEGORICAL = ["admission_type"]


def patients(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "patient_id": [f"P{seed:02d}{i:06d}" for i in range(rows)],
            "age": rng.integers(18, 95, size=rows),
            "visits_last_year": rng.poisson(2.0, size=rows),
            "medications": rng.integers(0, 25, size=rows),
            "admission_type": rng.choice(["emergency", "urgent", "elective"], size=rows),
        }
    )
    risk = (
        0.03 * (frame.age - 60)
        + 0.5 * (frame.visits_last_year - 2)
        + 0.08 * (frame.medications - 10)
        + (frame.admission_type == "emergency") * 0.8
        - 0.4
    )
    frame["readmitted"] = np.where(risk + rng.normal(size=rows) > 0, "yes", "no")
    return frame


def main() -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = patients(2000, seed=1)
    features = train[NUMERIC + CATEGORICAL].astype({name: "float32" for name in NUMERIC})
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)
        ),
        LogisticRegression(),
    ).fit(features, train.readmitted)
    types = [(n, FloatTensorType([None, 1])) for n in NUMERIC] + [
        (n, StringTensorType([None, 1])) for n in CATEGORICAL
    ]
    onnx_model = to_onnx(model, initial_types=types, options={"zipmap": True}, target_opset=17)
    DEMO.mkdir(parents=True, exist_ok=True)
    (DEMO / "readmission.onnx").write_bytes(onnx_model.SerializeToString())
    score = patients(500, seed=2).drop(columns=["readmitted"])
    score.to_csv(DEMO / "patients.csv", index=False)
    print(f"wrote {DEMO / 'readmission.onnx'} and {DEMO / 'patients.csv'}")


if __name__ == "__main__":
    main()
