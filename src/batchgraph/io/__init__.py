"""Requests in, results out: readers for JSONL (plain and OpenAI batch), CSV and Parquet inputs,
and writers for results.

    validate_input(path, options, check)  read every line, raise InputError naming the bad ones
    validated_requests(path, ...)         the same, yielding the requests as it goes
    read_requests(path, options)          stream the requests of a validated input
    write_results(rows, out_path, ...)    one record per input, in input order, all or nothing

Uses nothing of batchgraph but the shared types and errors.
"""

from batchgraph.io.options import InputFormat, ReadOptions, load_output_schema
from batchgraph.io.reading import (
    InputSummary,
    ModelTally,
    RequestCheck,
    estimate_input_tokens,
    read_requests,
    require_input_file,
    resolve_format,
    validate_input,
    validated_requests,
)
from batchgraph.io.records import RESULT_COLUMNS
from batchgraph.io.template import PromptTemplate
from batchgraph.io.writers import check_output_path, write_results

__all__ = [
    "RESULT_COLUMNS",
    "InputFormat",
    "InputSummary",
    "ModelTally",
    "PromptTemplate",
    "ReadOptions",
    "RequestCheck",
    "check_output_path",
    "estimate_input_tokens",
    "load_output_schema",
    "read_requests",
    "require_input_file",
    "resolve_format",
    "validate_input",
    "validated_requests",
    "write_results",
]
