"""Hourly weather at a data-center site from an EnergyPlus weather file (EPW), and the
on-site WUE it gives.

An EPW file holds one typical year (TMY, TMYx: each month taken from some year of the
record) of hourly observations in the station's local standard time (no daylight saving),
hour ending: the row with ``hour`` h (1..24) covers local standard time h-1 to h. The
file is read with pvlib (``pvlib.iotools.read_epw``); the wet bulb comes from dry bulb,
relative humidity and pressure by psychrolib (ASHRAE Handbook of Fundamentals 2017,
SI units); the WUE from the wet bulb by :func:`grids.water.onsite_wue_l_per_kwh`.

    >>> w = read_epw("weather/USA_VA_Leesburg.Exec.epw")
    >>> times = pd.date_range("2022-07-11T00:00Z", periods=24, freq="h")
    >>> hourly_wet_bulb_f(w, times)                   # deg F, index = times
    >>> onsite_wue_from_epw("weather/USA_VA_Leesburg.Exec.epw", times, source="...")  # L/kWh

The typical year is mapped onto any scenario's dates (:func:`hourly_wet_bulb_f`): a UTC
hour takes the row of its month, day and hour in local standard time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from grids.errors import InputError
from grids.water import onsite_wue_l_per_kwh

HEADER_LINES = 8
"""Header lines of an EPW file before its first data row (LOCATION ... DATA PERIODS)."""
MISSING = {"dry_bulb_c": 99.9, "relative_humidity_pct": 999.0, "pressure_pa": 999999.0}
"""EPW's codes for a missing value (EnergyPlus Auxiliary Programs, "Weather Data")."""
_COLUMNS = {"dry_bulb_c": "temp_air", "relative_humidity_pct": "relative_humidity", "pressure_pa": "atmospheric_pressure"}
_RANGES = {"dry_bulb_c": (-70.0, 70.0), "relative_humidity_pct": (0.0, 110.0), "pressure_pa": (31000.0, 120000.0)}
_EPW_COLUMN = {"dry_bulb_c": "dry bulb (field 7)", "relative_humidity_pct": "relative humidity (field 9)",
               "pressure_pa": "pressure (field 10)"}
_NON_LEAP = pd.date_range("2001-01-01", periods=8760, freq="h")  # every (month, day, hour) of a 365-day year


@dataclass(frozen=True, eq=False)
class EpwWeather:
    """One EPW file's hourly weather, as read, in the file's row order.

    ``month``, ``day``, ``hour`` (1..24, hour ending, local standard time) per row;
    ``dry_bulb_c`` (deg C), ``relative_humidity_pct`` (%), ``pressure_pa`` (station
    pressure, Pa) per row; ``utc_offset_h``: local standard time minus UTC (the header's
    TZ, e.g. -5 for US Eastern); ``station``: the header's city field; ``source``: the
    file as named to :func:`read_epw`.
    """

    source: str
    station: str
    utc_offset_h: float
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    dry_bulb_c: np.ndarray
    relative_humidity_pct: np.ndarray
    pressure_pa: np.ndarray
    _row: dict = field(default_factory=dict, repr=False)  # (month, day, hour) -> row position

    @cached_property
    def wet_bulb_c(self) -> np.ndarray:
        """Wet bulb (deg C) per row, computed once."""
        return wet_bulb_c(self.dry_bulb_c, self.relative_humidity_pct, self.pressure_pa)

    def rows(self, month: np.ndarray, day: np.ndarray, hour: np.ndarray) -> np.ndarray:
        """Row positions of (month, day, EPW hour 1..24) triples."""
        row = self._row
        return np.fromiter((row[k] for k in zip(month.tolist(), day.tolist(), hour.tolist())), dtype=int, count=len(month))


def wet_bulb_c(dry_bulb_c, relative_humidity_pct, pressure_pa) -> np.ndarray:
    """Wet-bulb temperature (deg C) from dry bulb (deg C), relative humidity (%, 0..100)
    and pressure (Pa): psychrolib's ``GetTWetBulbFromRelHum`` in SI units, element-wise
    (8,760 values in about 0.2 s)."""
    import psychrolib

    psychrolib.SetUnitSystem(psychrolib.SI)
    rh = np.clip(np.asarray(relative_humidity_pct, dtype=float) / 100.0, 0.0, 1.0)  # TMY files round RH to 100 % and above
    t, p = np.asarray(dry_bulb_c, dtype=float), np.asarray(pressure_pa, dtype=float)
    return np.vectorize(psychrolib.GetTWetBulbFromRelHum, otypes=[float])(t, rh, p)


def read_epw(path: str | Path, *, source: str | Path | None = None) -> EpwWeather:
    """The hourly weather of an EPW file (read once per process and file version).

    *source*: how errors name the file (default: *path*). InputError when the file is
    missing or unreadable, is not in the EPW form, lacks a row for some month, day and
    hour of a 365-day year (or repeats one), or has a missing or impossible dry bulb,
    relative humidity or pressure."""
    path = Path(path)
    label = str(source if source is not None else path)
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        raise InputError(label, "file", "not found") from None
    if not path.is_file():
        raise InputError(label, "file", "not a file")
    try:
        return _read(path.resolve(), mtime_ns)
    except InputError as exc:
        raise InputError(label, exc.where, exc.reason) from None


def epw_location(path: str | Path) -> tuple[float, float] | None:
    """(lat, lon), degrees, of an EPW file's station from its LOCATION line (fields 7
    and 8), without reading the hours; None when the first line is not such a line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.readline(4096).split(",")
        lat, lon = float(head[6]), float(head[7])
    except (OSError, IndexError, ValueError):
        return None
    if head[0].strip().upper() != "LOCATION" or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


@lru_cache(maxsize=32)
def _read(path: Path, mtime_ns: int) -> EpwWeather:
    from pvlib.iotools import read_epw as pvlib_read_epw

    try:
        data, meta = pvlib_read_epw(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, "file", f"cannot be read ({type(exc).__name__})") from None
    except Exception:  # pvlib's parser: any failure means the file is not an EPW
        raise InputError(path, "file", "not an EPW weather file (LOCATION header, 8 header lines, 35 fields per row)") from None
    try:
        tz = float(meta["TZ"])
    except (KeyError, TypeError, ValueError):
        raise InputError(path, "LOCATION", "no time zone (field 9, hours from UTC)") from None
    if not -12 <= tz <= 14:
        raise InputError(path, "LOCATION", f"time zone {tz:g} h is outside -12..14")
    try:
        month, day, hour = (data[c].to_numpy(dtype=int) for c in ("month", "day", "hour"))
    except (KeyError, TypeError, ValueError):
        raise InputError(path, "data", "month, day and hour must be whole numbers") from None
    values = {}
    for name, column in _COLUMNS.items():
        v = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
        lo, hi = _RANGES[name]
        bad = np.isnan(v) | (v == MISSING[name]) | (v < lo) | (v > hi)
        if bad.any():
            k = int(np.argmax(bad))
            raise InputError(path, f"line {HEADER_LINES + 1 + k}", f"{_EPW_COLUMN[name]} missing or out of range")
        values[name] = v
    row = {}
    for k, key in enumerate(zip(month.tolist(), day.tolist(), hour.tolist())):
        if key in row:
            raise InputError(path, f"line {HEADER_LINES + 1 + k}", f"repeats month {key[0]}, day {key[1]}, hour {key[2]}")
        row[key] = k
    for m, d, h in zip(_NON_LEAP.month.tolist(), _NON_LEAP.day.tolist(), (_NON_LEAP.hour + 1).tolist()):
        if (m, d, h) not in row:
            raise InputError(path, "data", f"{len(data)} rows: no row for month {m}, day {d}, hour {h} "
                                           "(an EPW file has a row for every hour of the year)")
    return EpwWeather(source=str(path), station=str(meta.get("city", "")), utc_offset_h=tz, month=month, day=day,
                      hour=hour, _row=row, **values)


def epw_rows(weather: EpwWeather, times: pd.DatetimeIndex) -> np.ndarray:
    """The EPW row of each UTC hour of *times* (naive = UTC), as :func:`hourly_wet_bulb_f`
    maps them."""
    t = pd.DatetimeIndex(times)
    t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
    local = (t.tz_localize(None) + pd.Timedelta(hours=weather.utc_offset_h)).floor("h")
    month, day = local.month.to_numpy(), local.day.to_numpy()
    leap = (month == 2) & (day == 29)
    day = np.where(leap, 28, day)
    return weather.rows(month, day, local.hour.to_numpy() + 1)


def hourly_wet_bulb_f(weather: EpwWeather, times: pd.DatetimeIndex) -> pd.Series:
    """Wet bulb (deg F) at each UTC hour of *times*, the typical year mapped onto its dates.

    The hour starting at UTC t is the hour starting at local standard time
    s = t + ``utc_offset_h`` (no daylight saving: the file has none), floored to the hour
    for a fractional offset. Local hour h (0..23, the hour from h to h+1) of month m and
    day d takes the EPW row with month m, day d and hour h+1 (EPW hours end at their
    number: hour 1 is 00:00-01:00). 29 February takes 28 February's row of the same hour.
    The year of *times* is not used (a typical year has none): 2022-07-11 00:00 UTC at
    Leesburg (TZ -5) is 10 July 19:00 local, the row ``7, 10, 20``.
    """
    tw_c = weather.wet_bulb_c[epw_rows(weather, times)]
    return pd.Series(tw_c * 9.0 / 5.0 + 32.0, index=pd.DatetimeIndex(times), name="wet_bulb_f")


def onsite_wue_from_epw(path: str | Path, times: pd.DatetimeIndex, *, source: str | Path | None = None,
                        cycles: float = 6.0) -> pd.Series:
    """On-site WUE (L/kWh) at each UTC hour of *times* from the EPW file at *path*:
    :func:`grids.water.onsite_wue_l_per_kwh` of :func:`hourly_wet_bulb_f`."""
    tw = hourly_wet_bulb_f(read_epw(path, source=source), times)
    return onsite_wue_l_per_kwh(tw, cycles=cycles).rename("wue_l_per_kwh")
