"""Calibration figures shipped inside cosim: derived statistics only, each file names its source."""
