"""redcolor.prediction: impact point and time, with uncertainty, for every confirmed track."""

from redcolor.prediction.impact import (
    ImpactPrediction,
    ImpactPredictor,
    PredictionSettings,
    predict_impacts,
)

__all__ = ["ImpactPrediction", "ImpactPredictor", "PredictionSettings", "predict_impacts"]
