"""Example images the project makes itself (see make.py) and the strokes they are drawn from."""
