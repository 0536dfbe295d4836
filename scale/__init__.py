"""The serving Predictor on Ray: Ray Serve for the HTTP API, Ray Data for batch scoring.

Optional: needs `pip install -r requirements-scale.txt`. Imports `serving`; nothing imports this.
"""
