// A client of the video service in another language, from the protos alone:
// @grpc/grpc-js + @grpc/proto-loader load protos/ and Google's protos, create a
// video, wait for it with WaitOperation and decode the Video packed in the Any.
//
//   node client.js HOST:PORT INCLUDE_DIR...     (prints one JSON line)
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");

const [target, ...includeDirs] = process.argv.slice(2);
const files = ["longreel/video/v1/video_service.proto", "google/longrunning/operations.proto"];

const definition = protoLoader.loadSync(files, {
  includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const api = grpc.loadPackageDefinition(definition);
const credentials = grpc.credentials.createInsecure();
const videos = new api.longreel.video.v1.VideoService(target, credentials);
const operations = new api.google.longrunning.Operations(target, credentials);

// proto-loader leaves Any payloads as bytes; protobufjs decodes them by type.
const root = new protobuf.Root();
root.resolvePath = (origin, name) =>
  includeDirs.map((dir) => path.join(dir, name)).find((p) => fs.existsSync(p)) || name;
root.loadSync(files, { keepCase: true });
const typeOf = (any) => root.lookupType(any.type_url.split("/").pop());
const unpack = (any) => typeOf(any).toObject(typeOf(any).decode(any.value), { longs: String });

function call(client, method, request, seconds = 30) {
  return new Promise((resolve, reject) =>
    client[method](request, { deadline: Date.now() + seconds * 1000 }, (error, response) =>
      error ? reject(error) : resolve(response)));
}

async function main() {
  let op = await call(videos, "CreateVideo", {
    video: { title: "From Node", plot: "Written in JavaScript" },
    request_id: crypto.randomUUID(), // AIP-155: a UUID
  });
  while (!op.done) {
    op = await call(operations, "WaitOperation", { name: op.name, timeout: { seconds: 10 } }, 20);
  }
  if (op.error) throw new Error(`operation failed: ${op.error.message}`);
  const video = await call(videos, "GetVideo", { name: unpack(op.response).name });
  console.log(JSON.stringify({
    operation: op.name,
    responseType: op.response.type_url,
    response: unpack(op.response),
    metadata: unpack(op.metadata),
    fetched: video,
  }));
}

main().then(() => process.exit(0), (error) => {
  console.error(`node client: ${error.message}`);
  process.exit(1);
});
