"""Operations tools of the radiology cutover: load generator, post-switch watch, cutover report."""

from .load import LoadConfig, run_load
from .phases import append_phase, read_phases
from .report import build_report
from .stats import Summary

__all__ = ["LoadConfig", "Summary", "append_phase", "build_report", "read_phases", "run_load"]
