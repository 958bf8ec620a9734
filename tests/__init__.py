"""Tests of casesync; see docs/design.md for what they specify."""
