"""Mass changes: owner or status for every customer matching a list filter, as a resumable job."""
