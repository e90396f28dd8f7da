"""Operations tools of the radiology cutover: load generator, post-switch watch, cutover report."""

from .load import LoadConfig, run_load
from .phases import read_phases
from .report import build_report
from .stats import Summary

__all__ = ["LoadConfig", "Summary", "build_report", "read_phases", "run_load"]
