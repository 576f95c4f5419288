"""Onyx's benchmarks: each case measures Onyx against the best possible on the same machine in the same run."""
