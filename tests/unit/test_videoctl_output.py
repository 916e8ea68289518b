"""videoctl's `--format` (client/_output.py): table, json, yaml, value(...)."""

from __future__ import annotations

import argparse
import io
import json

import pytest
import yaml
from google.longrunning import operations_pb2

from longreel.client._output import Format, Output, format_flag
from longreel.video.v1 import video_service_pb2 as pb


def _printed(form: str, *, single: bool = False) -> str:
    op = operations_pb2.Operation(name="operations/x", done=True)
    op.metadata.Pack(pb.OperationMetadata(verb="create", progress_percent=100))
    op.response.Pack(pb.Video(name="videos/v", title="My movie"))
    stream = io.StringIO()
    Output(format_flag(form), stream).operations([op], single=single)
    return stream.getvalue()


def test_value_prints_the_fields_tab_separated_by_json_or_proto_name():
    fields = (
        "value(name, metadata.progress_percent, metadata.progressPercent, done, response.title)"
    )
    assert _printed(fields) == "operations/x\t100\t100\ttrue\tMy movie\n"
    assert _printed("value(missing.field)") == "\n"


def test_json_and_yaml_say_the_same():
    assert yaml.safe_load(_printed("yaml")) == json.loads(_printed("json"))
    assert yaml.safe_load(_printed("yaml", single=True))["name"] == "operations/x"


def test_a_table_has_a_header():
    assert _printed("table").split()[:3] == ["NAME", "VERB", "TARGET"]


@pytest.mark.parametrize("bad", ["csv", "value()", "value(a,)", "value(a b)", "json()"])
def test_other_formats_are_usage_errors(bad):
    with pytest.raises(argparse.ArgumentTypeError):
        format_flag(bad)
    assert format_flag(" value( a , b.c ) ") == Format("value", ("a", "b.c"))
