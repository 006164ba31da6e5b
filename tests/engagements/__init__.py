"""Tests of audit engagements and the work around them (store, authority, worker processes)."""
