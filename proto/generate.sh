#!/usr/bin/env bash
# Generates TypeScript from proto/multisect/v1/*.proto with ts-proto into shared/gen/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc is missing: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 1; }
rm -rf shared/gen
mkdir -p shared/gen
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=shared/gen \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,importSuffix=.js,forceLong=number,useOptionals=none,oneof=unions-value,exportCommonSymbols=false,outputTypeRegistry=false \
  -I proto -I /usr/include \
  proto/multisect/v1/*.proto
