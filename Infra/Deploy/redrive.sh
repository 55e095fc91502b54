#!/usr/bin/env bash
# Processes again the S3 events Lambda gave up on: the records in the failure bucket (FailedEventsBucketName). It
# invokes the function with {"action":"redrive-failed-events"}; each invocation tries up to 50 records and says whether
# more are left and where it stopped, so it runs until every record was tried once. Safe to run any number of times, and while events still fail: a record is
# deleted only once its event was processed, and processing an event twice changes nothing.
#
#   Infra/Deploy/redrive.sh [--dry-run] [--endpoint-url URL] <stage> [region]
#
# --endpoint-url points the AWS CLI at another Lambda endpoint: the local Lambda service of the AppHost in Lambda mode.
# Prints each invocation's report (JSON) and a summary. Exits 0 when every record was redriven, 1 when records stay
# (their events fail again, or they hold no S3 event: read them in the bucket), 2 on a usage or invocation error.
# Needs the AWS CLI (v2 or v1) with credentials allowed lambda:InvokeFunction on the function.
set -euo pipefail
dry_run=false
endpoint=()
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do
  case "$1" in
    --dry-run) dry_run=true ;;
    --endpoint-url) endpoint=(--endpoint-url "${2:?--endpoint-url needs a URL}"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
stage=${1:?usage: redrive.sh [--dry-run] [--endpoint-url URL] <stage> [region]}
region=${2:-${AWS_REGION:-us-east-1}}
function_name="imageaspire-$stage-images"
export AWS_REGION=$region AWS_PAGER=""
answer=$(mktemp); request=$(mktemp)
trap 'rm -f "$answer" "$request"' EXIT

invoke() {
  local payload='{"action":"redrive-failed-events"}'
  [ -n "$1" ] && payload="{\"action\":\"redrive-failed-events\",\"startAfter\":\"$1\"}"
  # From a file (fileb://): the one way to pass a payload that CLI v1 and v2 read alike.
  printf '%s' "$payload" > "$request"
  if $dry_run; then
    { echo "payload: $payload"; printf '+'; printf ' %q' aws "${endpoint[@]}" --region "$region" lambda invoke --function-name "$function_name" \
      --payload "fileb://$request" "$answer"; printf '\n'; } >&2
    printf '%s' '{"redriven":0,"stillFailing":0,"unreadable":0,"more":false,"next":null}' > "$answer"
    return
  fi
  # The CLI's own answer (FunctionError, or None) goes to stdout; the function's report to the file.
  aws "${endpoint[@]}" --region "$region" lambda invoke --function-name "$function_name" --payload "fileb://$request" "$answer" \
    --query FunctionError --output text
}

field() { grep -o "\"$1\":[a-z0-9]*" "$answer" | cut -d: -f2; }

redriven=0; still=0; unreadable=0; next=""
for round in $(seq 1 1000); do
  error=$(invoke "$next") || { echo "the redrive invocation could not be made" >&2; exit 2; }
  if [ -n "$error" ] && [ "$error" != "None" ]; then
    echo "the redrive invocation failed ($error):" >&2; cat "$answer" >&2; echo >&2
    exit 2
  fi
  cat "$answer"; echo
  redriven=$((redriven + $(field redriven))); still=$((still + $(field stillFailing))); unreadable=$((unreadable + $(field unreadable)))
  [ "$(field more)" = "true" ] || break
  next=$(grep -o '"next":"[^"]*"' "$answer" | cut -d'"' -f4 || true)
done
echo "redrive: $redriven redriven, $still still failing, $unreadable unreadable"
[ $((still + unreadable)) -eq 0 ]
