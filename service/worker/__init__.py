"""Engine workers: each process owns a set of shards (markets) and executes their orders."""
