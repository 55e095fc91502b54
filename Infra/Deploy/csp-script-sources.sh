#!/usr/bin/env bash
# Prints the CSP hash source ('sha256-…') of every inline <script> element of an HTML file, space-separated: what
# script-src must list for the import map the web build writes into index.html. The local edge computes the same
# (Infra/Local/Edge/InlineScripts.cs); a unit test checks that both agree.
#   Infra/Deploy/csp-script-sources.sh <index.html>
set -euo pipefail
html=${1:?usage: csp-script-sources.sh <index.html>}
# The hash is of the element's text exactly as written (bytes, UTF-8), as browsers compute it.
perl -0777 -MDigest::SHA=sha256_base64 -ne '
  my @sources;
  while (/<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)<\/script>/gsi) {
    my $hash = sha256_base64($1);
    $hash .= "=" while length($hash) % 4;
    push @sources, "\x27sha256-$hash\x27";
  }
  print join(" ", @sources), "\n";
' "$html"
