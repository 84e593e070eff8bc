#!/usr/bin/env bash
# Build and deploy catbreed to your AWS account, then publish the page.
#
#   scripts/deploy.sh [--dry-run] [--stack NAME] [--region REGION] [--arch x86_64|arm64]
#                     [--bulk s3://BUCKET/PREFIX]   (also the bulk state machine, reading only there)
#
# Steps: sam build (the image, from Dockerfile); sam deploy (function, HTTP API, bucket,
# CloudFront); read the stack's outputs; write the page's config.js with the API URL;
# upload static_site/ to the private bucket; invalidate CloudFront's cache.
# --dry-run prints every command instead of running it (no AWS, no Docker needed). Otherwise
# it needs sam (on PATH, or .venv/bin/sam after `make test`), docker (running) and aws on PATH,
# and AWS credentials; a missing tool is named before anything starts.
set -euo pipefail
cd "$(dirname "$0")/.."

stack="catbreed"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
arch="x86_64"
bulk=""
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --stack) stack="$2"; shift ;;
    --region) region="$2"; shift ;;
    --arch) arch="$2"; shift ;;
    --bulk) bulk="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

run() { # run a command, or print it in dry-run mode
  if [ "$dry_run" = 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

output() { # a stack output by key (a placeholder in dry-run mode)
  if [ "$dry_run" = 1 ]; then
    echo "<$1>"
  else
    aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
      --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
  fi
}

params=("Architecture=$arch")
if [ -n "$bulk" ]; then
  location="${bulk#s3://}"
  case "$location" in */*) prefix="${location#*/}" ;; *) prefix="" ;; esac
  # a folder, not a name's start: photos/ grants photos/*, never photos-private/*
  if [ -n "$prefix" ] && [ "${prefix%/}" = "$prefix" ]; then prefix="$prefix/"; fi
  case "$prefix" in # the template refuses these too (BulkInputPrefix)
    "" | uploads/* | feedback/*)
      echo "deploy.sh: --bulk needs a folder of the bucket, not the whole bucket, uploads/ or feedback/: s3://BUCKET/PREFIX/" >&2
      exit 2 ;;
  esac
  params+=("BulkEnabled=true" "BulkInputBucket=${location%%/*}" "BulkInputPrefix=$prefix")
fi

# The SAM CLI from PATH, else the one `make test` installs into .venv.
sam="sam"
if ! command -v sam >/dev/null 2>&1 && [ -x .venv/bin/sam ]; then sam=".venv/bin/sam"; fi
if [ "$dry_run" = 0 ]; then
  missing=()
  command -v "$sam" >/dev/null 2>&1 || missing+=("sam (the SAM CLI: \`make test\` installs it as .venv/bin/sam)")
  command -v docker >/dev/null 2>&1 || missing+=("docker (sam build makes the image with it)")
  command -v aws >/dev/null 2>&1 || missing+=("aws (the AWS CLI, for the stack's outputs and the page)")
  if [ ${#missing[@]} -gt 0 ]; then
    list="${missing[0]}"
    for tool in "${missing[@]:1}"; do list="$list; $tool"; done
    echo "deploy.sh: not found: $list. Install what is missing and run it again (--dry-run shows every step)" >&2
    exit 2
  fi
  if ! docker info >/dev/null 2>&1; then
    echo "deploy.sh: docker is installed but its daemon does not answer; start Docker and run it again" >&2
    exit 2
  fi
fi

export SAM_CLI_TELEMETRY=0
run "$sam" validate --lint --region "$region"
run "$sam" build --parameter-overrides "${params[@]}"
run "$sam" deploy --stack-name "$stack" --region "$region" --resolve-s3 --resolve-image-repos \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides "${params[@]}"

api_url="$(output ApiUrl)"
page_url="$(output PageUrl)"
bucket="$(output SiteBucketName)"
distribution="$(output DistributionId)"

site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
cp -R static_site/. "$site/"
printf '// Written by scripts/deploy.sh for stack %s.\nexport default { apiUrl: "%s" };\n' \
  "$stack" "$api_url" > "$site/config.js"
echo "page config: $(tail -n 1 "$site/config.js")"

run aws s3 sync "$site/" "s3://$bucket/" --region "$region" --delete --exclude config.js
run aws s3 cp "$site/config.js" "s3://$bucket/config.js" --region "$region" \
  --cache-control "no-cache" --content-type "application/javascript"
run aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*"

echo
echo "API:  $api_url"
echo "Page: $page_url"
echo "Check it: .venv/bin/python test_cloud.py --stack $stack --region $region"
