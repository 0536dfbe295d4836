"""The serving Predictor on Ray (optional): Ray Serve for the HTTP API, Ray Data for batch scoring."""
