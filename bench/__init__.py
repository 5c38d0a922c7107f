"""The national-scale benchmark: seed, serve with gunicorn, load from another process, report.

Run it with ``make bench`` (see README, "Performance"). Nothing in this package is
loaded by the application unless ``COALITION_BENCH=true``.
"""
