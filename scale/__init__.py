"""The serving Predictor on Ray: Ray Serve for the HTTP API, Ray Data for batch scoring.

Optional: needs `pip install -r requirements-scale.txt`. Imports `serving` (and rest.py's request
reader, so that Ray Serve and the REST endpoint read requests alike); nothing imports this.
"""
