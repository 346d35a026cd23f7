"""Readers for the hourly input data: generic CSVs, the E-GLB dataset and the Azure LLM trace.

Every time index returned here is a tz-aware UTC :class:`pandas.DatetimeIndex` named
``"time"`` with one row per hour (``freq`` is one hour). Every bad input raises
:class:`cosim.errors.InputError` (``source: where: reason``), never a pandas or csv error.

Row numbers in messages are the ones a spreadsheet user sees: the header is row 1 and the
first data row is row 2 (so data row *i*, counted from 0, is row ``i + 2``).

Datasets live outside the repository, in the data dir (``--data-dir`` or the environment
variable ``COSIM_DATA_DIR``); scenarios name a dataset by its folder name under it
(``eglb``, ``azure-llm-2023``).

This package is the loaders' public surface (callers use ``loaders.load_eglb`` and the like);
its modules: ``csv_table`` (CSV text, header, time and number checks shared by all),
``hourly_csv`` (the generic hourly CSV), ``eglb`` (the E-GLB dataset), ``azure_trace``
(the Azure LLM trace) and ``data_dir`` (finding the data dir and what is under it).
"""
from cosim.loaders.azure_trace import AZURE_LLM_DATASET, AZURE_TRACES, load_azure_llm_dataset, load_azure_llm_trace
from cosim.loaders.csv_table import read_csv_records
from cosim.loaders.data_dir import DATA_DIR_ENV, DataDir, as_data_dir, data_dir_option, dataset_path, resolve_data_dir
from cosim.loaders.eglb import EGLB_DATASET, EGLB_HOURS, EGLB_LOCATIONS, EglbData, load_eglb
from cosim.loaders.hourly_csv import load_hourly_csv

__all__ = [
    "AZURE_LLM_DATASET",
    "AZURE_TRACES",
    "DATA_DIR_ENV",
    "DataDir",
    "EGLB_DATASET",
    "EGLB_HOURS",
    "EGLB_LOCATIONS",
    "EglbData",
    "as_data_dir",
    "data_dir_option",
    "dataset_path",
    "load_azure_llm_dataset",
    "load_azure_llm_trace",
    "load_eglb",
    "load_hourly_csv",
    "read_csv_records",
    "resolve_data_dir",
]
