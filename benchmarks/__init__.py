"""Performance benchmarks: synthetic corpora (`benchmarks.synth`) and the runner (`python -m benchmarks.run`)."""
