"""The sun's position and the clear-sky shape of PV output, from time and place alone,
both from pvlib: the position by NREL's solar position algorithm (Reda and Andreas 2004,
``pvlib.solarposition``, numpy implementation), the clear-sky irradiance by Haurwitz
(1945; ``pvlib.clearsky.haurwitz``, global horizontal irradiance from the apparent zenith).
Before pvlib, grids/ used Spencer's (1971) declination and equation of time and a
``max(0, sin h)^1.2`` shape: those differed from SPA by up to 0.6 degrees of elevation
and from this shape by at most 2 % of the day's peak (docs/grids.md, "Hourly profiles")."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _solar_position(times_utc: pd.DatetimeIndex, lat_deg: float, lon_deg: float) -> pd.DataFrame:
    import pvlib  # late: only nets with PV need it

    return pvlib.solarposition.get_solarposition(times_utc, lat_deg, lon_deg, method="nrel_numpy")


def sin_elevation(times_utc: pd.DatetimeIndex, lat_deg: float, lon_deg: float, offset_h: float = 0.5) -> np.ndarray:
    """sin(true solar elevation, no refraction) (dimensionless) *offset_h* hours into each hour."""
    position = _solar_position(times_utc + pd.Timedelta(hours=offset_h), lat_deg, lon_deg)
    return np.sin(np.radians(position["elevation"].to_numpy()))


def clear_sky_pv_shape(times_utc: pd.DatetimeIndex, lat_deg: float, lon_deg: float) -> np.ndarray:
    """Clear-sky PV output per hour (dimensionless): the hour's mean Haurwitz clear-sky
    global horizontal irradiance (three samples an hour), normalised so 1 October (UTC
    day) averages 1."""
    import pvlib

    def raw(ts: pd.DatetimeIndex) -> np.ndarray:
        samples = [pvlib.clearsky.haurwitz(_solar_position(ts + pd.Timedelta(hours=o), lat_deg, lon_deg)["apparent_zenith"])
                   ["ghi"].to_numpy() for o in (1 / 6, 0.5, 5 / 6)]
        return np.mean(samples, axis=0)

    ref = pd.date_range("2022-10-01", periods=24, freq="h", tz="UTC")
    return raw(times_utc) / raw(ref).mean()
