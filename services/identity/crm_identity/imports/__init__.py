"""Batch user import from an XLSX/CSV template, with a dry run, as a resumable job."""
