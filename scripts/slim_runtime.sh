#!/bin/sh
# Remove the parts of the installed runtime that the function never loads: LiteRT's WebGPU
# accelerator, its model tools, AOT compilers and vendor SDK stubs (about 32 MB).
# Used by the Dockerfile and by the test that proves the image's install step.
#   scripts/slim_runtime.sh SITE_PACKAGES_DIR
set -eu
site="$1"
litert="$site/ai_edge_litert"
[ -d "$litert" ] || { echo "no ai_edge_litert in $site" >&2; exit 1; }
rm -rf "$litert/libLiteRtWebGpuAccelerator.so" "$litert/tools" "$litert/aot" "$litert/vendors"
