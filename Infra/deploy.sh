#!/usr/bin/env bash
# Deploys ImageAspire to AWS with the AWS CLI: publishes the Lambda bootstrap zip and the web app, uploads the
# zip, deploys Infra/template.yaml, writes the web app's runtime configuration, syncs the site and invalidates
# CloudFront. Needs: AWS CLI v2 with credentials, .NET 10 SDK.
#
#   Infra/deploy.sh <stage> <artifact-bucket> [region]
#
# The artifact bucket must exist (private, in the same region); it only holds the function's zip.
set -euo pipefail
stage=${1:?usage: deploy.sh <stage> <artifact-bucket> [region]}
artifacts=${2:?usage: deploy.sh <stage> <artifact-bucket> [region]}
region=${3:-${AWS_REGION:-us-east-1}}
app=imageaspire
stack="$app-$stage"
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/artifacts"
export AWS_REGION=$region AWS_PAGER=""

echo "== publish the function (linux-arm64, self-contained, ReadyToRun)"
rm -rf "$out/lambda" && mkdir -p "$out"
dotnet publish "$root/ImageService/ImageService.csproj" -c Release -r linux-arm64 --self-contained \
  -p:PublishReadyToRun=true -p:LambdaBootstrap=true -o "$out/lambda"
(cd "$out/lambda" && rm -f ../lambda.zip && zip -qr9 ../lambda.zip .)
key="$stack/lambda-$(sha256sum "$out/lambda.zip" | cut -c1-16).zip"
aws s3 cp "$out/lambda.zip" "s3://$artifacts/$key" --only-show-errors

echo "== deploy the stack $stack"
aws cloudformation deploy --stack-name "$stack" --template-file "$root/Infra/template.yaml" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides AppName=$app Stage="$stage" CodeS3Bucket="$artifacts" CodeS3Key="$key"

output() { aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text; }
site=$(output SiteUrl); distribution=$(output DistributionId); web_bucket=$(output WebBucketName)
pool=$(output UserPoolId); client=$(output UserPoolClientId)

if [ -f "$root/Web/Web.csproj" ]; then
  echo "== publish the web app"
  rm -rf "$out/web"
  dotnet publish "$root/Web/Web.csproj" -c Release -o "$out/web"
  cat > "$out/web/wwwroot/appsettings.json" <<JSON
{ "Cognito": { "Endpoint": "https://cognito-idp.$region.amazonaws.com/", "Region": "$region", "UserPoolId": "$pool", "ClientId": "$client" } }
JSON
  # File names are not fingerprinted (the CSP forbids the inline import map fingerprinting needs): revalidate.
  aws s3 sync "$out/web/wwwroot" "s3://$web_bucket" --delete --only-show-errors \
    --exclude "index.html" --exclude "appsettings.json" --cache-control "no-cache"
  aws s3 cp "$out/web/wwwroot/index.html" "s3://$web_bucket/index.html" --cache-control "no-cache" --only-show-errors
  aws s3 cp "$out/web/wwwroot/appsettings.json" "s3://$web_bucket/appsettings.json" --cache-control "no-cache" --only-show-errors
  aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*" >/dev/null
fi

echo "== done: $site"
