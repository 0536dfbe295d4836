"""The serving Predictor on Ray: Ray Serve for the HTTP API, Ray Data for batch scoring.

Optional: needs `pip install -r requirements-scale.txt`. Imports `serving` (and rest.py's request
handling, so that Ray Serve and the REST endpoint read and answer requests alike); nothing
imports this.
"""
