#!/usr/bin/env bash
# Regenerates the Go, gateway and OpenAPI code from proto/ and lints the protos, offline.
#
#   tools/protoc/gen.sh          regenerate + lint
#   tools/protoc/gen.sh --check  regenerate into the tree, then fail if git sees a difference
#
# buf and the protoc plugins are pinned in tools/protoc/go.mod, a module of their own that
# is not in go.work: buf's dependency graph (cel-go and friends) never meets the product's.
# Third-party protos are not committed; they are copied from the Go module cache, at the
# versions pinned below, into tools/protoc/third_party (gitignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tools/protoc"
export GOWORK=off GOFLAGS=-mod=mod

moddir() { (cd "$here" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }

tp="$here/third_party"
rm -rf "$tp" && mkdir -p "$tp/google/api" "$tp/google/rpc" "$tp/protoc-gen-openapiv2/options" "$tp/buf/validate"
gw1=$(moddir github.com/grpc-ecosystem/grpc-gateway@v1.16.0)
gw2=$(moddir github.com/grpc-ecosystem/grpc-gateway/v2@v2.31.0)
pv=$(moddir github.com/bufbuild/protovalidate@v1.2.2)
cp "$gw1"/third_party/googleapis/google/api/{annotations,http,httpbody}.proto "$tp/google/api/"
cp "$gw1"/third_party/googleapis/google/rpc/*.proto "$tp/google/rpc/"
cp "$gw2"/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto "$tp/protoc-gen-openapiv2/options/"
cp "$pv"/proto/protovalidate/buf/validate/validate.proto "$tp/buf/validate/"
chmod -R u+w "$tp"

(cd "$here" && go build -o bin/ tool)
export PATH="$here/bin:$PATH"

cd "$root"
buf lint proto
buf generate
# One merged OpenAPI document for all services, served by the gateway (gateway/openapi).
mkdir -p gateway/openapi
mv proto/gen/openapi/fenquan.swagger.json gateway/openapi/fenquan.swagger.json
rm -rf proto/gen
gofmt -l proto >/dev/null

if [ "${1:-}" = "--check" ]; then
  if [ -n "$(git status --porcelain -- proto gateway/openapi)" ]; then
    echo "generated code is stale: run tools/protoc/gen.sh and commit the result" >&2
    git status --porcelain -- proto gateway/openapi >&2
    git diff --stat -- proto gateway/openapi >&2
    exit 1
  fi
fi
