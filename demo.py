"""The handwritten digit reader app: draw or upload a digit or a number, get the answer.

`python demo.py --help` lists its flags, and a Hugging Face Space runs it; `gradio demo.py` reloads it
while editing (README, "The web page"). The app itself is the `app` package (docs/architecture.md).
"""

import sys

from app.settings import Settings
from app.web import cache

settings = Settings.parse(sys.argv[1:] if __name__ == "__main__" else [])
CACHE_DIR = cache.private_dir_or_exit()  # before gradio is imported: it reads GRADIO_TEMP_DIR then

from app.server import create_or_exit, serve  # noqa: E402

app = create_or_exit(settings)
demo = app.demo  # `gradio demo.py` looks for this name

if __name__ == "__main__":
    serve(app, CACHE_DIR)
