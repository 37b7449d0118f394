"""International Standard Atmosphere (U.S. Standard Atmosphere 1976), vectorised.

Source: U.S. Standard Atmosphere, 1976 (NOAA-S/T 76-1562), Table 4 layer bases and lapse rates
for geopotential altitudes 0-84.852 km; the same numbers are the ISO 2533 / ICAO standard
atmosphere below 32 km. Altitudes passed in are geometric metres above mean sea level and are
converted to geopotential altitude ``H = r0 z / (r0 + z)`` with ``r0 = 6,356,766 m``.

Above the top layer (about 86 km geometric) the model continues isothermally at the top-layer
temperature (an assumption: the 1976 standard uses a different model there, and density is
below 7e-6 kg/m^3, negligible for drag). Below sea level the first layer is extended.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

R_AIR_J_KG_K = 287.05287
"""Specific gas constant of dry air, R* / M0 (US 1976: 8314.32 / 28.9644)."""
GAMMA_AIR = 1.4
G0_M_S2 = 9.80665
"""Standard gravity (US 1976), m/s^2: also the tracker's initial free-fall guess."""
EARTH_R0_M = 6_356_766.0
"""Earth radius used by the 1976 standard for geopotential altitude."""

# Layer bases: geopotential altitude (m), temperature (K), pressure (Pa); lapse rates (K/m).
_BASE_H_M = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0, 84_852.0])
_LAPSE_K_M = np.array([-0.0065, 0.0, 0.0010, 0.0028, 0.0, -0.0028, -0.0020, 0.0])


def _layer_bases() -> tuple[FloatArray, FloatArray]:
    """Base temperature and pressure of each layer, integrated from sea level."""
    temp = np.empty_like(_BASE_H_M)
    pres = np.empty_like(_BASE_H_M)
    temp[0], pres[0] = 288.15, 101_325.0
    for i in range(1, len(_BASE_H_M)):
        dh = _BASE_H_M[i] - _BASE_H_M[i - 1]
        lapse = _LAPSE_K_M[i - 1]
        temp[i] = temp[i - 1] + lapse * dh
        if lapse == 0.0:
            pres[i] = pres[i - 1] * np.exp(-G0_M_S2 * dh / (R_AIR_J_KG_K * temp[i - 1]))
        else:
            pres[i] = pres[i - 1] * (temp[i] / temp[i - 1]) ** (-G0_M_S2 / (R_AIR_J_KG_K * lapse))
    return temp, pres


_BASE_T_K, _BASE_P_PA = _layer_bases()


def isa_temperature_pressure(alt_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Temperature and pressure at geometric altitude.

    Parameters
    ----------
    alt_m : array_like, shape (...)
        Geometric altitude above mean sea level, metres.

    Returns
    -------
    temp_k, pres_pa : ndarray, shape (...)
    """
    z = np.asarray(alt_m, dtype=np.float64)
    h = EARTH_R0_M * z / (EARTH_R0_M + z)
    i = np.clip(np.searchsorted(_BASE_H_M, h, side="right") - 1, 0, len(_BASE_H_M) - 1)
    dh = h - _BASE_H_M[i]
    lapse = _LAPSE_K_M[i]
    t_base = _BASE_T_K[i]
    temp = t_base + lapse * dh
    iso = lapse == 0.0
    safe_lapse = np.where(iso, 1.0, lapse)
    ratio = np.where(iso, 1.0, temp / t_base)
    pres_grad = _BASE_P_PA[i] * ratio ** (-G0_M_S2 / (R_AIR_J_KG_K * safe_lapse))
    pres_iso = _BASE_P_PA[i] * np.exp(-G0_M_S2 * dh / (R_AIR_J_KG_K * t_base))
    return temp, np.where(iso, pres_iso, pres_grad)


def isa_density_kg_m3(alt_m: ArrayLike) -> FloatArray:
    """Air density, kg/m^3, at geometric altitude ``alt_m`` (m above sea level), shape (...)."""
    temp, pres = isa_temperature_pressure(alt_m)
    return pres / (R_AIR_J_KG_K * temp)


def isa_speed_of_sound_m_s(alt_m: ArrayLike) -> FloatArray:
    """Speed of sound, m/s, at geometric altitude ``alt_m`` (m above sea level), shape (...)."""
    temp, _ = isa_temperature_pressure(alt_m)
    return np.sqrt(GAMMA_AIR * R_AIR_J_KG_K * temp)
