#!/usr/bin/env bash
# Deploys ImageAspire to AWS with the AWS CLI: publishes the Lambda bootstrap zip and the web app, uploads the
# zip, deploys Infra/Deploy/template.yaml, writes the web app's /appsettings.json from the stack outputs, syncs the site
# with the right content types and cache headers, and invalidates CloudFront.
#
#   Infra/Deploy/deploy.sh [--dry-run] [--rotate-media-key | --retire-previous-media-key] <stage> <artifact-bucket> [region]
#
# --rotate-media-key makes a new media signing key pair and switches to it, keeping the old public key trusted for the
# cookies it signed; --retire-previous-media-key, run once a cookie lifetime (Media:CookieLifetime) has passed, drops it.
#
# Needs AWS CLI v2 with credentials, the .NET 10 SDK and zip. The artifact bucket must exist (private, same
# region); it only holds the function's zip. --dry-run prints every command instead of running it.
set -euo pipefail
dry_run=false
rotate_media_key=false
retire_previous_media_key=false
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --rotate-media-key) rotate_media_key=true ;;
    --retire-previous-media-key) retire_previous_media_key=true ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
stage=${1:?usage: deploy.sh [--dry-run] [--rotate-media-key | --retire-previous-media-key] <stage> <artifact-bucket> [region]}
artifacts=${2:?usage: deploy.sh [--dry-run] [--rotate-media-key | --retire-previous-media-key] <stage> <artifact-bucket> [region]}
region=${3:-${AWS_REGION:-us-east-1}}
app=imageaspire
stack="$app-$stage"
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/artifacts/deploy"
export AWS_REGION=$region AWS_PAGER=""

run() {
  if $dry_run; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}

output() {
  if $dry_run; then echo "<$1>"; return; fi
  aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

echo "== publish the function (linux-arm64, Native AOT, executable 'bootstrap'; cross-compiled on x64, see README)"
run rm -rf "$out/lambda" "$out/lambda.zip"
run dotnet publish "$root/ImageService/ImageService.csproj" -c Release -r linux-arm64 -p:LambdaBootstrap=true -o "$out/lambda"
# The native symbols (bootstrap.dbg) stay out of the function; keep them with the build to read crash dumps.
run bash -c "cd '$out/lambda' && zip -qr9 ../lambda.zip . -x '*.dbg' '*.pdb' '*.staticwebassets.endpoints.json'"
if $dry_run; then digest=dryrun; else digest=$(sha256sum "$out/lambda.zip" | cut -c1-16); fi
key="$stack/lambda-$digest.zip"
run aws s3 cp "$out/lambda.zip" "s3://$artifacts/$key" --only-show-errors

echo "== the media keys: CloudFront trusts the public key, the function reads the private key and the path key from SSM"
# Each signing key pair is made by openssl and kept only as an SSM SecureString named by its version; the stack's
# MediaKeyVersion says which pair is in use, and later deploys read its private key back to pass the public half.
umask 077
stack_parameter() {
  if $dry_run; then return; fi
  aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" \
    --output text 2>/dev/null | grep -v '^None$' || true
}
has_parameter() { ! $dry_run && aws ssm get-parameter --name "$1" --query Parameter.Name --output text >/dev/null 2>&1; }
public_key_of() {
  if $dry_run; then echo "<public key v$1>"; return; fi
  aws ssm get-parameter --name "/$app/$stage/media-signing-key/v$1" --with-decryption --query Parameter.Value --output text \
    | openssl pkey -pubout
}
version=$(stack_parameter MediaKeyVersion); version=${version:-1}
previous=()
if $rotate_media_key; then
  # The old pair stays trusted (second key in the group) for the cookies it signed; the function switches to the new one
  # in the same stack update, key and key pair id together.
  previous=(MediaPreviousKeyVersion="$version" MediaPreviousPublicKeyPem="$(public_key_of "$version")")
  version=$((version + 1))
elif $retire_previous_media_key; then
  previous=(MediaPreviousKeyVersion=0 MediaPreviousPublicKeyPem="")
fi
signing_key="/$app/$stage/media-signing-key/v$version"
if ! has_parameter "$signing_key"; then
  run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/media-signing-key.pem"
  run aws ssm put-parameter --name "$signing_key" --type SecureString --value "file://$out/media-signing-key.pem"
  run rm -f "$out/media-signing-key.pem"
fi
public_key=$(public_key_of "$version")
# The key of the opaque media keys in rendition paths: made once and never rotated (old paths would stop mapping to
# their owners, and the sweeper leaves what it cannot attribute).
path_key="/$app/$stage/media-path-key"
if ! has_parameter "$path_key"; then
  run bash -c "aws ssm put-parameter --name '$path_key' --type SecureString --value \"\$(openssl rand -base64 32)\""
fi

echo "== publish the web app"
run rm -rf "$out/web"
run dotnet publish "$root/Web/Web.csproj" -c Release -o "$out/web"
# The CSP allows the import map index.html now carries by its hash, and keeps the previous deploy's until the next one:
# the stack (and CloudFront's headers) changes before the new index.html is uploaded.
if $dry_run; then script_sources="'sha256-<import map of index.html>'"; else script_sources=$(bash "$root/Infra/Deploy/csp-script-sources.sh" "$out/web/wwwroot/index.html"); fi
previous_sources=$(stack_parameter WebScriptSources); previous_sources=${previous_sources%% *}
if [ -n "$previous_sources" ] && [[ " $script_sources " != *" $previous_sources "* ]]; then script_sources="$script_sources $previous_sources"; fi

echo "== deploy the stack $stack"
run aws cloudformation deploy --stack-name "$stack" --template-file "$root/Infra/Deploy/template.yaml" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides AppName=$app Stage="$stage" CodeS3Bucket="$artifacts" CodeS3Key="$key" WebScriptSources="$script_sources" \
  MediaKeyVersion="$version" MediaPublicKeyPem="$public_key" "${previous[@]}"

site=$(output SiteUrl); distribution=$(output DistributionId); web_bucket=$(output WebBucketName)
pool=$(output UserPoolId); client=$(output UserPoolClientId)

# The function's spans go to X-Ray's OTLP endpoint, which refuses them until Transaction Search is on (once per
# account and region; it changes how X-Ray bills, so it is not switched on here).
if ! $dry_run && [ "$(aws xray get-trace-segment-destination --query Destination --output text 2>/dev/null)" != "CloudWatchLogs" ]; then
  echo "warning: CloudWatch Transaction Search is off in $region: the function's traces are refused until it is on (README, Operating in production)" >&2
fi

settings="{ \"Cognito\": { \"Endpoint\": \"https://cognito-idp.$region.amazonaws.com/\", \"Region\": \"$region\", \"UserPoolId\": \"$pool\", \"ClientId\": \"$client\" } }"
echo "appsettings.json: $settings"
run bash -c "printf '%s\n' '$settings' > '$out/web/wwwroot/appsettings.json'"

echo "== upload the site to s3://$web_bucket"
# Every file of the app but index.html carries a content fingerprint in its name (the SDK's for the runtime,
# Web.csproj's for the app's CSS and JS): cached for a year and not asked for again. They go up first, and earlier
# ones stay (a page loaded before this deploy may still fetch them). index.html, whose import map names them, and
# the runtime configuration go last and are revalidated on every visit. CloudFront compresses on the fly, so the
# precompressed copies stay behind.
run aws s3 sync "$out/web/wwwroot" "s3://$web_bucket" --only-show-errors \
  --exclude "*.br" --exclude "*.gz" --exclude "*.wasm" --exclude index.html --exclude appsettings.json \
  --cache-control "public, max-age=31536000, immutable"
run aws s3 cp "$out/web/wwwroot/_framework" "s3://$web_bucket/_framework" --recursive --only-show-errors \
  --exclude "*" --include "*.wasm" --content-type "application/wasm" --cache-control "public, max-age=31536000, immutable"
run aws s3 cp "$out/web/wwwroot/appsettings.json" "s3://$web_bucket/appsettings.json" --only-show-errors --cache-control "no-cache"
run aws s3 cp "$out/web/wwwroot/index.html" "s3://$web_bucket/index.html" --only-show-errors --cache-control "no-cache"
run aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*"

echo "== done: $site"
