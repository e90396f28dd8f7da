"""The one app: examinations, reports and analysis tasks."""
