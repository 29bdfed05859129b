"""The platform's benchmarks (``make bench``): real load tools against a real local stack.

Every figure is a ratio against a baseline measured in the same run on the same machine, with the
absolute numbers beside it for reference. Nothing here is imported by the services or the tests.
"""
