"""The sun's position and the clear-sky shape of PV output, from time and place alone."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def sin_elevation(times_utc: pd.DatetimeIndex, lat_deg: float, lon_deg: float, offset_h: float = 0.5) -> np.ndarray:
    """sin(solar elevation) (dimensionless) *offset_h* hours into each hour (declination
    and equation of time after Spencer 1971; solar time from longitude)."""
    t = times_utc + pd.Timedelta(hours=offset_h)
    doy = t.dayofyear.to_numpy()
    g = 2 * np.pi * (doy - 1) / 365.0
    decl = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
            + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    eot_min = 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g) - 0.014615 * np.cos(2 * g)
                        - 0.040849 * np.sin(2 * g))
    hours = t.hour.to_numpy() + t.minute.to_numpy() / 60.0
    solar_time = hours + lon_deg / 15.0 + eot_min / 60.0
    omega = np.radians(15.0 * (solar_time - 12.0))
    phi = math.radians(lat_deg)
    return np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(omega)


def clear_sky_pv_shape(times_utc: pd.DatetimeIndex, lat_deg: float, lon_deg: float) -> np.ndarray:
    """Clear-sky PV output per hour (dimensionless), normalised so 1 October (UTC day)
    averages 1."""
    def raw(ts: pd.DatetimeIndex) -> np.ndarray:
        # three samples per hour: the hour's mean of max(0, sin h)^1.2 (a crude air-mass loss)
        return np.mean([np.clip(sin_elevation(ts, lat_deg, lon_deg, o), 0, None) ** 1.2 for o in (1 / 6, 0.5, 5 / 6)],
                       axis=0)
    ref = pd.date_range("2022-10-01", periods=24, freq="h", tz="UTC")
    return raw(times_utc) / raw(ref).mean()
