#!/usr/bin/env bash
# Deploys ImageAspire to AWS with the AWS CLI: publishes the Lambda bootstrap zip and the web app, uploads the
# zip, deploys Infra/Deploy/template.yaml, writes the web app's /appsettings.json from the stack outputs, syncs the site
# with the right content types and cache headers, and invalidates CloudFront.
#
#   Infra/Deploy/deploy.sh [--dry-run] <stage> <artifact-bucket> [region]
#
# Needs AWS CLI v2 with credentials, the .NET 10 SDK and zip. The artifact bucket must exist (private, same
# region); it only holds the function's zip. --dry-run prints every command instead of running it.
set -euo pipefail
dry_run=false
if [ "${1:-}" = "--dry-run" ]; then dry_run=true; shift; fi
stage=${1:?usage: deploy.sh [--dry-run] <stage> <artifact-bucket> [region]}
artifacts=${2:?usage: deploy.sh [--dry-run] <stage> <artifact-bucket> [region]}
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

echo "== the media signing key: CloudFront trusts the public key, the function reads the private key from SSM"
# Made once per stack (openssl), kept only as an SSM SecureString; later deploys read it back to pass the public half.
signing_key="/$app/$stage/media-signing-key"
umask 077
if $dry_run || ! aws ssm get-parameter --name "$signing_key" --query Parameter.Name --output text >/dev/null 2>&1; then
  run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/media-signing-key.pem"
  run aws ssm put-parameter --name "$signing_key" --type SecureString --value "file://$out/media-signing-key.pem" --overwrite
else
  aws ssm get-parameter --name "$signing_key" --with-decryption --query Parameter.Value --output text > "$out/media-signing-key.pem"
fi
if $dry_run; then public_key="<public key>"; else public_key=$(openssl pkey -in "$out/media-signing-key.pem" -pubout); fi
run rm -f "$out/media-signing-key.pem"
# The key of the opaque media keys in rendition paths: made once and never rotated (old paths would stop mapping to
# their owners, and the sweeper leaves what it cannot attribute).
path_key="/$app/$stage/media-path-key"
if $dry_run || ! aws ssm get-parameter --name "$path_key" --query Parameter.Name --output text >/dev/null 2>&1; then
  run bash -c "aws ssm put-parameter --name '$path_key' --type SecureString --value \"\$(openssl rand -base64 32)\""
fi

echo "== deploy the stack $stack"
run aws cloudformation deploy --stack-name "$stack" --template-file "$root/Infra/Deploy/template.yaml" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides AppName=$app Stage="$stage" CodeS3Bucket="$artifacts" CodeS3Key="$key" \
  MediaPublicKeyPem="$public_key" ${MEDIA_PREVIOUS_PUBLIC_KEY:+MediaPreviousPublicKeyPem="$MEDIA_PREVIOUS_PUBLIC_KEY"}

site=$(output SiteUrl); distribution=$(output DistributionId); web_bucket=$(output WebBucketName)
pool=$(output UserPoolId); client=$(output UserPoolClientId)

echo "== publish the web app"
run rm -rf "$out/web"
run dotnet publish "$root/Web/Web.csproj" -c Release -o "$out/web"
settings="{ \"Cognito\": { \"Endpoint\": \"https://cognito-idp.$region.amazonaws.com/\", \"Region\": \"$region\", \"UserPoolId\": \"$pool\", \"ClientId\": \"$client\" } }"
echo "appsettings.json: $settings"
run bash -c "printf '%s\n' '$settings' > '$out/web/wwwroot/appsettings.json'"

echo "== upload the site to s3://$web_bucket"
# File names are not fingerprinted (the CSP forbids the inline import map fingerprinting needs), so every file
# is revalidated; CloudFront compresses on the fly, so the precompressed copies stay behind.
run aws s3 sync "$out/web/wwwroot" "s3://$web_bucket" --delete --only-show-errors \
  --exclude "*.br" --exclude "*.gz" --exclude "*.wasm" --cache-control "no-cache"
run aws s3 cp "$out/web/wwwroot/_framework" "s3://$web_bucket/_framework" --recursive --only-show-errors \
  --exclude "*" --include "*.wasm" --content-type "application/wasm" --cache-control "no-cache"
run aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*"

echo "== done: $site"
