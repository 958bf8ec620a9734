"""Pure mapping core of casesync: value models and decisions, no I/O."""
