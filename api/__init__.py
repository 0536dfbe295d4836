"""The REST API's parts; rest.py puts them together into routes and mounts them on the app.

- api.reading: a request's images (multipart or JSON base64), under the size limits, and the reply
  with one record per image;
- api.lanes: where a request's model work runs (the event loop, or a worker lane), and stopping
  it when the client leaves;
- api.docs: the OpenAPI descriptions of the routes (request bodies, answers, errors).
"""
