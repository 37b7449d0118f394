"""Slow per-threat reference for :mod:`redcolor.warning.regions`.

Follows the words, not the kernel: draw the confidence ellipse as a finely sampled polygon
(``k^2 = chi-square quantile with 2 dof``), then buffer it by the danger radius with shapely.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.stats import chi2


def grown_ellipse_reference(cov_en_m2: np.ndarray, confidence: float, margin_m: float):
    """One grown ellipse as a shapely polygon in east/north metres around the mean."""
    k = math.sqrt(chi2.ppf(confidence, df=2))
    eigval, eigvec = np.linalg.eigh(np.asarray(cov_en_m2, dtype=float))
    points = []
    for i in range(720):
        t = 2.0 * math.pi * i / 720
        local = np.array(
            [
                k * math.sqrt(max(eigval[0], 0.0)) * math.cos(t),
                k * math.sqrt(max(eigval[1], 0.0)) * math.sin(t),
            ]
        )
        points.append(eigvec @ local)
    ellipse = shapely.Polygon(points) if np.ptp(points) > 0 else shapely.Point(0.0, 0.0)
    return ellipse.buffer(margin_m, quad_segs=64) if margin_m > 0 else ellipse
