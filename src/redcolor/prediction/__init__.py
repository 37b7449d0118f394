"""redcolor.prediction: impact point and time, with uncertainty, for every confirmed track."""

from redcolor.prediction.impact import (
    ImpactPrediction,
    ImpactPredictor,
    PredictionSettings,
    predict_impacts,
)
from redcolor.prediction.runner import ScanOutput, TrackPredict, iter_track_predictions

__all__ = [
    "ImpactPrediction",
    "ImpactPredictor",
    "PredictionSettings",
    "ScanOutput",
    "TrackPredict",
    "iter_track_predictions",
    "predict_impacts",
]
