"""CallCenterRate data platform (ccr_pipelines)."""

__version__ = "0.1.0"
