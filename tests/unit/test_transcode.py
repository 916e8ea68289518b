"""The transcoder's path templates (google/api/http.proto's grammar) and the
bindings it reads from the descriptors and the shipped service config."""

from __future__ import annotations

import pytest

from longreel.gateway.transcode import bindings
from longreel.gateway.transcode.rules import RuleError, service_config
from longreel.gateway.transcode.template import PathTemplate, TemplateError


@pytest.mark.parametrize(
    ("template", "path", "captured"),
    [
        ("/v1/videos", "/v1/videos", {}),
        ("/v1/videos", "/v1/videos/", None),
        ("/v1/{name=videos/*}", "/v1/videos/abc", {"name": "videos/abc"}),
        ("/v1/{name=videos/*}", "/v1/videos", None),
        ("/v1/{name=videos/*}", "/v1/videos/a/b", None),
        ("/v1/{name=videos/*}", "/v1/videos/", None),
        ("/v1/{name=videos/*}", "/v1/films/abc", None),
        ("/v1/videos/{video}", "/v1/videos/a%20b", {"video": "a b"}),  # {x} is {x=*}
        ("/v1/videos/{video}", "/v1/videos/a%2Fb", {"video": "a/b"}),  # one segment: all decoded
        ("/v1/{name=videos/*}", "/v1/videos/a%2Fb", {"name": "videos/a%2Fb"}),  # several: not %2F
        ("/v1/{name=operations/**}", "/v1/operations/a/b/c", {"name": "operations/a/b/c"}),
        (
            "/v1/{name=operations/**}",
            "/v1/operations",
            {"name": "operations"},
        ),  # ** is zero or more
        ("/v1/{name=operations/**}", "/v1/operations/a//b", None),
        ("/v1/{name=operations}", "/v1/operations", {"name": "operations"}),
        ("/v1/{name=operations/**}:cancel", "/v1/operations/x:cancel", {"name": "operations/x"}),
        ("/v1/{name=operations/**}:cancel", "/v1/operations/x", None),
        ("/v1/{name=operations/**}:cancel", "/v1/operations/x:wait", None),
        ("/v1/{name=operations/**}", "/v1/operations/x:cancel", None),  # a verb it lacks
        ("/v1/{name=videos/*}:readContent", "/v1/videos/v:readContent", {"name": "videos/v"}),
        ("/v1/{a=x/*}/{b.c=y/*}", "/v1/x/1/y/2", {"a": "x/1", "b.c": "y/2"}),
        ("/v1/*/items", "/v1/anything/items", {}),
        ("/v1/*/items", "v1/anything/items", None),
    ],
)
def test_a_template_matches_as_http_proto_says(template, path, captured):
    assert PathTemplate.parse(template).match(path) == captured


@pytest.mark.parametrize(
    "template", ["v1/videos", "/v1/**/videos", "/v1/{name=videos/*", "/v1//videos", "/v1/{a={b}}"]
)
def test_a_template_outside_the_grammar_is_refused(template):
    with pytest.raises(TemplateError):
        PathTemplate.parse(template)


def test_the_bindings_are_the_protos_annotations_and_the_configs_rules():
    found = {(b.http_method, b.template.text): b.method.full_name for b in bindings()}
    assert found == {
        ("POST", "/v1/videos"): "longreel.video.v1.VideoService.CreateVideo",
        ("GET", "/v1/{name=videos/*}"): "longreel.video.v1.VideoService.GetVideo",
        ("GET", "/v1/videos"): "longreel.video.v1.VideoService.ListVideos",
        ("DELETE", "/v1/{name=videos/*}"): "longreel.video.v1.VideoService.DeleteVideo",
        ("GET", "/v1/{name=videos/*}:read"): "longreel.video.v1.VideoService.ReadVideoContent",
        ("GET", "/v1/{name=operations}"): "google.longrunning.Operations.ListOperations",
        ("GET", "/v1/{name=operations/**}"): "google.longrunning.Operations.GetOperation",
        ("DELETE", "/v1/{name=operations/**}"): "google.longrunning.Operations.DeleteOperation",
        (
            "POST",
            "/v1/{name=operations/**}:cancel",
        ): "google.longrunning.Operations.CancelOperation",
        ("POST", "/v1/{name=operations/**}:wait"): "google.longrunning.Operations.WaitOperation",
    }


def test_literal_templates_come_before_wildcards_as_a_transcoder_tries_them():
    order = [b.template.text for b in bindings()]
    assert order.index("/v1/{name=operations}") < order.index("/v1/{name=operations/**}")


def test_a_rule_for_a_method_of_no_listed_api_is_refused():
    config = service_config()
    config["apis"] = [{"name": "longreel.video.v1.VideoService"}]
    with pytest.raises(RuleError, match="WaitOperation"):
        bindings(config)


def test_a_body_naming_no_field_is_refused():
    config = service_config()
    config["http"]["rules"][0]["body"] = "nothing"
    with pytest.raises(RuleError, match="nothing"):
        bindings(config)
