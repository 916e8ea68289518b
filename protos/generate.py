"""Generate the Python modules for protos/ with grpcio-tools.

Run by the client's build (client/setup.py) and by `make protos`; the output is never
committed. The service configs (*.yaml, *_grpc_service_config.json) beside
the protos are copied along.
`--stage-google DIR` copies the Google protos ours import into DIR, for
protoc in other languages, buf and Node.js.

Google's protos come from the installed packages: grpcio-tools ships
google/protobuf/*, googleapis-common-protos ships google/api, rpc and
longrunning. The latter installs google/longrunning/operations.proto under
the name operations_proto.proto, so it is staged under its canonical import
path in a temporary include directory.
"""

from __future__ import annotations

import importlib.resources
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def google_include_dirs(staging: Path) -> list[Path]:
    """Include paths holding Google's protos, canonical names restored."""
    import google.api  # from googleapis-common-protos
    import grpc_tools

    common = Path(next(iter(google.api.__path__))).parent.parent
    renamed = common / "google" / "longrunning" / "operations_proto.proto"
    canonical = staging / "google" / "longrunning" / "operations.proto"
    canonical.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(renamed, canonical)
    well_known = Path(str(importlib.resources.files(grpc_tools) / "_proto"))
    return [staging, common, well_known]


def our_protos() -> list[Path]:
    return sorted(HERE.rglob("*.proto"))


def our_service_configs() -> list[Path]:
    """The service configs beside the protos: the google.api.Service YAML
    (HTTP rules) and the gRPC retry policy (*_grpc_service_config.json)."""
    return sorted([*HERE.rglob("*.yaml"), *HERE.rglob("*_grpc_service_config.json")])


def generate(out: Path) -> None:
    """Write *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for our protos into out,
    and copy the service configs beside them."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        includes = [HERE, *google_include_dirs(Path(tmp))]
        args = [
            "grpc_tools.protoc",
            *(f"-I{d}" for d in includes),
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *(str(p.relative_to(HERE)) for p in our_protos()),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed on protos/ (see the message above)")
    for config in our_service_configs():
        # Service configs travel with the modules (package data of the client),
        # for the gateway's transcoder, a gRPC channel's retries, and anyone
        # else who reads the API's rules.
        shutil.copyfile(config, out / config.relative_to(HERE))
    for proto in our_protos():
        parts = proto.parent.relative_to(HERE).parts
        # The first segment (the organisation) stays a namespace package, so
        # that longreel.server and friends can live in other folders.
        for depth in range(2, len(parts) + 1):
            (out.joinpath(*parts[:depth]) / "__init__.py").touch()
            (out.joinpath(*parts[:depth]) / "py.typed").touch()  # the .pyi stubs are for users


def stage_google(dest: Path) -> list[str]:
    """Copy exactly the Google protos ours import (transitively) into dest,
    under their canonical paths, well-known types aside: one include
    directory for protoc in any language, buf or @grpc/proto-loader."""
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        includes = [HERE, *google_include_dirs(Path(tmp))]
        descriptors = Path(tmp) / "all.pb"
        args = [
            "grpc_tools.protoc",
            *(f"-I{d}" for d in includes),
            "--include_imports",
            f"--descriptor_set_out={descriptors}",
            *(str(p.relative_to(HERE)) for p in our_protos()),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed on protos/ (see the message above)")
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptors.read_bytes()).file
        copied = []
        # google/protobuf/* are left out: every protoc, buf and protobufjs
        # carries its own well-known types, and a newer copy can confuse an older protoc.
        wanted = [
            f.name
            for f in files
            if f.name.startswith("google/") and not f.name.startswith("google/protobuf/")
        ]
        for name in wanted:
            source = next(d / name for d in includes if (d / name).exists())
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / name)
            copied.append(name)
    return copied


if __name__ == "__main__":
    if sys.argv[1:2] == ["--stage-google"]:
        stage_google(Path(sys.argv[2]))
    else:
        generate(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "client" / "src")
