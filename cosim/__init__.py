"""gridshift: co-simulation of geo-distributed AI inference and regional power grids."""

__version__ = "0.1.0"
