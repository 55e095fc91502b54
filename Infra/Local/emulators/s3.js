// Runs s3rver behind a small front that fixes what AWS SDK v4 sends and s3rver mishandles:
//  - aws-chunked request bodies (STREAMING-*-PAYLOAD[-TRAILER]) are decoded, otherwise s3rver
//    stores the chunk framing and the object comes back corrupted;
//  - x-amz-copy-source arrives as "bucket%2Fkey", which s3rver cannot resolve;
//  - s3rver cannot send bucket notifications, so its in-process object events are POSTed to a
//    webhook (S3_EVENT_WEBHOOK_URL), the way S3 would invoke a Lambda function;
//  - s3rver accepts any Signature Version 4 without checking it, so a presigned URL would let a
//    client write another key, content type or size than it was signed for. The front checks SigV4
//    (presigned query and Authorization header) against s3rver's own key pairs, as S3 does;
//  - s3rver ignores conditional writes; a PUT with "If-None-Match: *" over an existing object gets
//    412 here as from S3 (checked, then written: unlike S3, two racing PUTs may both pass);
//  - s3rver writes an object in place and answers before the file is flushed, so a listing shows a
//    key whose bytes are still arriving and a GET right after the PUT's answer can read it short. A
//    PUT here is atomic, as in S3 (atomicPutObject below).
// Environment: PORT, S3_DATA_DIR, S3_EVENT_WEBHOOK_URL, S3_EVENT_WEBHOOK_SECRET (sent in the
// S3_EVENT_WEBHOOK_HEADER header), S3_EVENT_BUCKETS, S3_VERBOSE.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { dirname, join } = require('node:path');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const sigv4 = require('./sigv4');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const port = Number(process.env.PORT || 4569);
const directory = process.env.S3_DATA_DIR || join(process.cwd(), '.data', 's3');
const webhookUrl = process.env.S3_EVENT_WEBHOOK_URL || '';
const webhookSecret = process.env.S3_EVENT_WEBHOOK_SECRET || '';
const webhookHeader = process.env.S3_EVENT_WEBHOOK_HEADER || '';
if (webhookUrl && !webhookHeader) throw new Error('S3_EVENT_WEBHOOK_HEADER is required with S3_EVENT_WEBHOOK_URL');
// Like a bucket notification configuration: only these buckets' events are delivered (all when unset).
const eventBuckets = (process.env.S3_EVENT_BUCKETS || '').split(',').map(b => b.trim()).filter(Boolean);
fs.mkdirSync(directory, { recursive: true });

/**
 * s3rver's putObject, made atomic: the bytes go to a temporary name (listings only take names ending in the object
 * suffix), are flushed and closed, the metadata is written, and only then is the file renamed onto the key. A reader
 * sees the whole new object or none of it; an overwrite shows the new metadata with the old bytes for the moment
 * between the two writes.
 */
async function atomicPutObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.promises.mkdir(dirname(objectPath), { recursive: true });
  const temporary = `${objectPath}.${process.pid}-${crypto.randomBytes(6).toString('hex')}.partial`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  const measure = new Transform({
    transform(chunk, encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    await pipeline(source, measure, fs.createWriteStream(temporary));
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    await fs.promises.rename(temporary, objectPath);
    return { size, md5: digest };
  } catch (err) {
    await fs.promises.rm(temporary, { force: true });
    throw err;
  }
}
FilesystemStore.prototype.putObject = atomicPutObject;

/** Decodes an aws-chunked body: "<hex>[;chunk-signature=..]\r\n<data>\r\n" ... "0..\r\n<trailers>\r\n". */
class AwsChunkedDecoder extends Transform {
  constructor() {
    super();
    this.pending = Buffer.alloc(0);
    this.remaining = -1; // bytes of chunk data still to pass; -1 while reading a size line
    this.done = false;
  }

  _transform(chunk, _encoding, callback) {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      this.drain();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  drain() {
    while (!this.done && this.pending.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, this.pending.length);
        this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        continue;
      }
      if (this.remaining === 0) {
        if (this.pending.length < 2) return;
        this.pending = this.pending.subarray(2); // CRLF after the chunk data
        this.remaining = -1;
        continue;
      }
      const lineEnd = this.pending.indexOf('\r\n');
      if (lineEnd < 0) {
        if (this.pending.length > 4096) throw new Error('aws-chunked size line too long');
        return;
      }
      const sizeText = this.pending.subarray(0, lineEnd).toString('latin1').split(';')[0].trim();
      const size = parseInt(sizeText, 16);
      if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+$/.test(sizeText)) {
        throw new Error(`bad aws-chunked size line "${sizeText}"`);
      }
      this.pending = this.pending.subarray(lineEnd + 2);
      if (size === 0) {
        this.done = true; // the rest is trailers (checksums), which s3rver has no use for
        return;
      }
      this.remaining = size;
    }
  }

  _flush(callback) {
    callback(this.done ? null : new Error('aws-chunked body ended early'));
  }
}

function isAwsChunked(headers) {
  const encoding = String(headers['content-encoding'] || '');
  const sha = String(headers['x-amz-content-sha256'] || '');
  return encoding.split(',').some(e => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

function rewriteHeaders(headers) {
  const result = { ...headers };
  if (isAwsChunked(headers)) {
    const encodings = String(headers['content-encoding'] || '')
      .split(',').map(e => e.trim()).filter(e => e && e !== 'aws-chunked');
    if (encodings.length) result['content-encoding'] = encodings.join(','); else delete result['content-encoding'];
    delete result['transfer-encoding'];
    delete result['x-amz-trailer'];
    result['content-length'] = headers['x-amz-decoded-content-length'];
    result['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    if (result['content-length'] === undefined) {
      delete result['content-length'];
      result['transfer-encoding'] = 'chunked';
    }
  }
  if (headers['x-amz-copy-source']) {
    result['x-amz-copy-source'] = String(headers['x-amz-copy-source']).replace(/%2F/gi, '/');
  }
  return result;
}

/**
 * Checks a Signature Version 4 request the way S3 does (path segments encoded once, no normalisation).
 * Returns null when the signature holds or the request is not SigV4-signed (s3rver handles V2 itself),
 * otherwise the S3 error code and message.
 */
function verifySigV4(req) {
  if (req.method === 'OPTIONS') return null; // CORS preflights are never signed
  const checked = sigv4.verify(req, { service: 's3', secretOf: id => AWSAccount.registry.get(id)?.accessKeys.get(id) });
  if (checked.result !== 'invalid') return null;
  switch (checked.reason) {
    case 'unknown-key': return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    case 'bad-scope': return { code: 'AuthorizationHeaderMalformed', message: checked.message };
    case 'host-unsigned': return { code: 'AccessDenied', message: checked.message };
    default: return {
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    };
  }
}

function sendError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** Whether an object exists, asked of s3rver directly (unsigned: s3rver does not check reads). */
function objectExists(innerPort, path) {
  return new Promise((resolve, reject) => {
    const head = http.request({ host: '127.0.0.1', port: innerPort, method: 'HEAD', path }, response => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    head.on('error', reject);
    head.end();
  });
}

async function postEvent(event) {
  const body = JSON.stringify(event);
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      const response = await fetch(webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [webhookHeader]: webhookSecret },
        body,
        signal: AbortSignal.timeout(120_000),
      });
      if (response.ok) return;
      console.error(`s3 event webhook answered ${response.status} (attempt ${attempt})`);
      if (response.status < 500 && response.status !== 429) return;
    } catch (err) {
      console.error(`s3 event webhook failed: ${err.message} (attempt ${attempt})`);
    }
    await new Promise(r => setTimeout(r, 250 * 2 ** attempt));
  }
}

async function main() {
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: process.env.S3_VERBOSE !== 'true', vhostBuckets: false });
  const { port: innerPort } = await s3rver.run();
  if (webhookUrl) {
    s3rver.on('event', event => {
      const record = event.Records && event.Records[0];
      if (!record || !String(record.eventName).startsWith('ObjectCreated:')) return;
      if (eventBuckets.length && !eventBuckets.includes(record.s3.bucket.name)) return;
      console.log(`s3 event ${record && record.eventName} ${record && record.s3.bucket.name}/${record && record.s3.object.key}`);
      postEvent(event);
    });
  }

  const forward = (req, res) => {
    const headers = rewriteHeaders(req.headers);
    const upstream = http.request(
      { host: '127.0.0.1', port: innerPort, method: req.method, path: req.url, headers },
      upstreamResponse => {
        res.writeHead(upstreamResponse.statusCode || 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      });
    upstream.on('error', err => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`s3 emulator front: ${err.message}`);
    });
    if (isAwsChunked(req.headers)) {
      const decoder = new AwsChunkedDecoder();
      decoder.on('error', err => {
        upstream.destroy();
        if (res.headersSent) res.end(); else sendError(res, 400, 'IncompleteBody', err.message);
      });
      req.pipe(decoder).pipe(upstream);
    } else {
      req.pipe(upstream);
    }
  };

  const front = http.createServer((req, res) => {
    const denied = verifySigV4(req);
    if (denied) {
      req.resume();
      sendError(res, 403, denied.code, denied.message);
      return;
    }
    const [path, query = ''] = req.url.split('?');
    if (req.method !== 'PUT' || String(req.headers['if-none-match'] || '').trim() !== '*' || /(^|&)(uploadId|partNumber)=/.test(query)) {
      forward(req, res);
      return;
    }
    req.pause();
    objectExists(innerPort, path).then(exists => {
      if (!exists) {
        forward(req, res);
        return;
      }
      req.resume();
      sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    }, err => {
      req.resume();
      sendError(res, 502, 'InternalError', `s3 emulator front: ${err.message}`);
    });
  });
  front.requestTimeout = 0;
  front.listen(port, '127.0.0.1', () => {
    console.log(`s3 emulator (s3rver 3.7.1) listening on http://127.0.0.1:${port}, data in ${directory}` +
      (webhookUrl ? `, object events to ${webhookUrl}` : ''));
  });
  const stop = () => front.close(() => s3rver.close().finally(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
