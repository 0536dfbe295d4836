"""The reading operations, one table: every surface (the CLI, the Gradio API, REST, MCP, Ray Serve)
is made from it, so each operation's batch loop and its JSON are written once. An image that
can't be read gets its error in its place, never an exception for the whole batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from serving.decode import ImageSource, StopCheck
from serving.reader import Reader
from serving.records import Record, digit_fields, number_fields, page_fields


@dataclass(frozen=True)
class Operation:
    name: str  # the route's and endpoint's name: /api/<name>, api_name=<name>
    answer: str  # the record's key that holds the answer, None when the image could not be read
    read: Callable[[Reader, Sequence[ImageSource], StopCheck | None], list[Any]]
    fields: Callable[[Any], Record]  # a result or its InputError → the JSON record without "file"

    def answers(self, reader: Reader, sources: Sequence[ImageSource],
                stop: StopCheck | None = None) -> list[Record]:
        """One record (without "file") per image, in order."""
        return [self.fields(result) for result in self.read(reader, sources, stop)]


PREDICT = Operation("predict", "digit",
                    lambda reader, sources, stop: reader.read_digits(sources, stop=stop), digit_fields)
EXPLAIN = Operation("explain", "digit",
                    lambda reader, sources, stop: reader.read_digits(sources, explain=True, stop=stop),
                    digit_fields)
READ_NUMBER = Operation("read_number", "number", Reader.read_numbers, number_fields)
READ_PAGE = Operation("read_page", "numbers", Reader.read_pages, page_fields)
OPERATIONS = {op.name: op for op in (PREDICT, EXPLAIN, READ_NUMBER, READ_PAGE)}
