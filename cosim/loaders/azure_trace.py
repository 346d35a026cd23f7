"""The Azure LLM inference trace 2023 (Azure/AzurePublicDataset, CC-BY-4.0): one row per
request, read as hourly totals of requests and tokens. A scenario names it by its folder
under the data dir (``azure-llm-2023``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cosim.errors import InputError
from cosim.loaders.csv_table import parse_numbers, parse_times, read_table, require_header
from cosim.loaders.hourly_csv import HOUR, HOURLY, hourly_index

AZURE_LLM_DATASET = "azure-llm-2023"
"""Folder name of the Azure LLM inference trace 2023 under the data dir."""

AZURE_TRACES = {"conv": "AzureLLMInferenceTrace_conv.csv", "code": "AzureLLMInferenceTrace_code.csv"}
"""Trace name -> file name inside the dataset folder."""

_AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")


def load_azure_llm_trace(path: str | Path) -> pd.DataFrame:
    """Hourly totals of one Azure LLM inference trace file (one row per request).

    The file has the columns ``TIMESTAMP`` (UTC, e.g. ``2023-11-16 18:15:46.6805900``),
    ``ContextTokens`` and ``GeneratedTokens`` (whole, non-negative token counts). Rows need
    not be sorted.

    Returns a DataFrame indexed by UTC hour (``"time"``, the hour each request falls in),
    from the first request's hour to the last one's, with int64 columns ``requests``
    (requests per hour), ``context_tokens`` and ``generated_tokens`` (tokens per hour).
    Hours without requests inside that span are present with 0.
    """
    table = read_table(path)
    require_header(table, _AZURE_COLUMNS)
    times = parse_times(table, 0)
    tokens = parse_numbers(table, [1, 2], nonnegative=True, integer=True).astype(np.int64)
    hour = times.floor(HOURLY)
    first = hour.min()
    slot = ((hour - first) // HOUR).to_numpy(dtype=np.int64)
    periods = int(slot.max()) + 1
    index = hourly_index(first, periods)
    return pd.DataFrame(
        {
            "requests": np.bincount(slot, minlength=periods).astype(np.int64),
            "context_tokens": _int_bincount(slot, tokens[:, 0], periods),
            "generated_tokens": _int_bincount(slot, tokens[:, 1], periods),
        },
        index=index,
    )


def _int_bincount(slot: np.ndarray, values: np.ndarray, periods: int) -> np.ndarray:
    """Exact integer sums of *values* per *slot* (np.bincount would sum in float)."""
    out = np.zeros(periods, dtype=np.int64)
    np.add.at(out, slot, values)
    return out


def load_azure_llm_dataset(root: str | Path, trace: str = "conv") -> pd.DataFrame:
    """Hourly totals (see :func:`load_azure_llm_trace`) of *trace* (``"conv"`` or ``"code"``)
    in the dataset folder *root* (``<data dir>/azure-llm-2023``)."""
    if trace not in AZURE_TRACES:
        raise InputError(root, "trace", f"unknown trace {trace!r}; known: {', '.join(AZURE_TRACES)}")
    return load_azure_llm_trace(Path(root) / AZURE_TRACES[trace])
