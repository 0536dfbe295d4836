"""The reading operations, one table: every surface (the CLI, the Gradio API, REST, MCP, Ray Serve)
is made from it, so each operation's batch loop and its JSON are written once.

    OPERATIONS["predict"].records(reader, [("7.png", source), ...])
    → [{"file": "7.png", "digit": 7, "confidence": 0.998, "probabilities": [...]}, ...]

An operation answers every image it is given, in order: an image that can't be read gets its
error in its place ({"digit": null, "error": "..."}), never an exception for the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from serving.decode import ImageSource
from serving.reader import Reader, StopCheck
from serving.records import Record, digit_fields, number_fields, page_fields

Named = tuple[str | int, ImageSource]  # an image and the name its answer carries ("file")


@dataclass(frozen=True)
class Operation:
    name: str  # the route's and endpoint's name: /api/<name>, api_name=<name>
    answer: str  # the record's key that holds the answer, None when the image could not be read
    summary: str
    read: Callable[[Reader, Sequence[ImageSource], StopCheck | None], list[Any]]
    fields: Callable[[Any], Record]  # a result or its InputError → the JSON record without "file"

    def answers(self, reader: Reader, sources: Sequence[ImageSource],
                stop: StopCheck | None = None) -> list[Record]:
        """One record (without "file") per image, in order."""
        return [self.fields(result) for result in self.read(reader, sources, stop)]

    def records(self, reader: Reader, named: Sequence[Named], stop: StopCheck | None = None) -> list[Record]:
        """One record per image, each with its name as "file"."""
        answers = self.answers(reader, [source for _, source in named], stop)
        return [{"file": name, **fields} for (name, _), fields in zip(named, answers, strict=True)]

    def all_read(self, records: Sequence[Record]) -> bool:
        return all(record[self.answer] is not None for record in records)


PREDICT = Operation("predict", "digit", "the one digit in each image",
                    lambda reader, sources, stop: reader.read_digits(sources, stop=stop), digit_fields)
EXPLAIN = Operation("explain", "digit", "the digit, and where the model found the evidence for it",
                    lambda reader, sources, stop: reader.read_digits(sources, explain=True, stop=stop),
                    digit_fields)
READ_NUMBER = Operation("read_number", "number", "the whole number written on one line in each image",
                        lambda reader, sources, stop: reader.read_numbers(sources, stop=stop), number_fields)
READ_PAGE = Operation("read_page", "numbers", "every number on a page, in reading order",
                      lambda reader, sources, stop: reader.read_pages(sources, stop=stop), page_fields)
OPERATIONS = {op.name: op for op in (PREDICT, EXPLAIN, READ_NUMBER, READ_PAGE)}
