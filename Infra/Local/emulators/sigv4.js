// Signature Version 4 checked as AWS services check it: shared by the local S3 front and the local Rekognition, so
// a request the real service would refuse for its signature is refused locally too.
'use strict';
const crypto = require('node:crypto');

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function hmac(key, text) {
  return crypto.createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The SigV4 parts of a request: from the X-Amz-* query (presigned) or the Authorization header; null if unsigned. */
function sigV4Parts(req, url) {
  const query = url.searchParams;
  if (query.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256') {
    return {
      credential: query.get('X-Amz-Credential') || '',
      signedHeaders: query.get('X-Amz-SignedHeaders') || '',
      signature: query.get('X-Amz-Signature') || '',
      date: query.get('X-Amz-Date') || '',
      payloadHash: query.get('X-Amz-Content-Sha256') || 'UNSIGNED-PAYLOAD',
      presigned: true,
    };
  }
  const authorization = String(req.headers.authorization || '');
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) return null;
  const fields = Object.fromEntries(authorization.slice(17).split(',').map(part => {
    const eq = part.indexOf('=');
    return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  }));
  return {
    credential: fields.Credential || '',
    signedHeaders: fields.SignedHeaders || '',
    signature: fields.Signature || '',
    date: String(req.headers['x-amz-date'] || ''),
    payloadHash: req.headers['x-amz-content-sha256'] ? String(req.headers['x-amz-content-sha256']) : null,
    presigned: false,
  };
}

/**
 * Checks a request's SigV4 signature for `service`. `secretOf(accessKeyId)` gives a known key's secret (undefined for
 * an unknown key). S3 takes the path as it is and names the payload's hash in a header; other services encode the
 * path once more and sign the body's hash, which `body` (the whole request body) gives.
 * Returns { result: 'valid' | 'unsigned' } or { result: 'invalid', reason: 'unknown-key' | 'bad-scope' | 'host-unsigned' | 'mismatch', message }.
 */
function verify(req, { service, secretOf, body }) {
  const url = new URL(req.url, 'http://localhost');
  const parts = sigV4Parts(req, url);
  if (!parts) return { result: 'unsigned' };
  const [accessKeyId, day, region, scopeService, terminator] = parts.credential.split('/');
  const secret = secretOf(accessKeyId);
  if (secret === undefined) return { result: 'invalid', reason: 'unknown-key', message: `The access key ${accessKeyId} is not known.` };
  if (!day || !region || scopeService !== service || terminator !== 'aws4_request' || !parts.date.startsWith(day)) {
    return { result: 'invalid', reason: 'bad-scope', message: `The credential scope is not <date>/<region>/${service}/aws4_request.` };
  }
  const headerNames = parts.signedHeaders.split(';').filter(Boolean);
  if (!headerNames.includes('host')) return { result: 'invalid', reason: 'host-unsigned', message: 'The host header must be signed.' };
  const canonicalHeaders = headerNames
    .map(name => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalQuery = [...url.searchParams]
    .filter(([name]) => !(parts.presigned && name === 'X-Amz-Signature'))
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const rawPath = req.url.split('?')[0];
  const encodeSegment = service === 's3' ? segment => uriEncode(safeDecode(segment)) : segment => uriEncode(uriEncode(safeDecode(segment)));
  const canonicalPath = rawPath.split('/').map(encodeSegment).join('/');
  const payloadHash = parts.payloadHash ?? (body ? crypto.createHash('sha256').update(body).digest('hex') : 'UNSIGNED-PAYLOAD');
  const canonicalRequest = [req.method, canonicalPath, canonicalQuery, canonicalHeaders, parts.signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', parts.date, scope, crypto.createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  let key = hmac('AWS4' + secret, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign).toString('hex');
  const provided = Buffer.from(parts.signature, 'utf8');
  if (provided.length === expected.length && crypto.timingSafeEqual(provided, Buffer.from(expected, 'utf8'))) return { result: 'valid' };
  if (process.env.SIGV4_VERBOSE === 'true') console.log(`signature mismatch; canonical request:\n${canonicalRequest}`);
  return { result: 'invalid', reason: 'mismatch', message: 'The request signature we calculated does not match the signature you provided.' };
}

module.exports = { verify };
