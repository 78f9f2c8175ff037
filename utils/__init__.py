"""Helpers of the add-on that are neither models nor pure engine code."""
