#!/usr/bin/env node
/*
 * swrepart's local S3 test server.
 *
 * A launcher around npm @20minutes/s3rver 4.0.4 (pinned exactly in package.json) that fixes the
 * defects listed in shared/reference/S3_TESTBED.md and adds test-only control endpoints:
 *
 *   - ListObjects / ListObjectsV2 are answered by this file (s3rver loses CommonPrefixes more
 *     than one level deep, lists in directory-walk order instead of UTF-8 byte order, escapes
 *     '&' twice and encrypts continuation tokens with DES, which Node >= 17's OpenSSL refuses).
 *   - SigV4 is still verified by s3rver's own authentication middleware, but with a corrected
 *     canonical request (RFC 3986 encoding of !'()* in the query, raw request path so that
 *     "/bucket/" keeps its trailing slash, trimmed header values) and a check of the credential
 *     scope (region, service, date). Unsigned and SigV2 requests are refused.
 *   - GET/HEAD Object is answered here: correct single byte ranges (bytes=-N, bytes=N-,
 *     bytes=0-0) and If-Match / If-Unmodified-Since, which s3rver ignores.
 *   - PutObject / UploadPart write atomically (tmp file + rename: an aborted upload never
 *     clobbers the old object) and verify Content-MD5 and a hex x-amz-content-sha256;
 *     content, MD5 and metadata change in one commit, so a GET never sees a torn version.
 *   - Conditional writes: If-None-Match: * and If-Match on PutObject and
 *     CompleteMultipartUpload, checked when the object is committed, under a per-key lock
 *     (412 PreconditionFailed, 404 NoSuchKey for If-Match on a missing key), as S3 does.
 *   - Multipart: AbortMultipartUpload, ListMultipartUploads and ListParts are added (s3rver has
 *     none); UploadPart and CompleteMultipartUpload check the upload id, part numbers, part ETags
 *     and the minimum part size as S3 does.
 *   - CopyObject / UploadPartCopy decode x-amz-copy-source fully (s3rver missed %2B, %26...);
 *     DeleteObject no longer races on removing emptied directories (500s under concurrency).
 *   - /__control/ endpoints (no signature) inject faults, count requests, list uploads, and
 *     switch modes that mimic other servers (no conditional writes, no multipart listing, a
 *     listing whose continuation token repeats, listed sizes out of range).
 *   - Speed (a test server must not be the bottleneck of benchmarks): GET/HEAD Object is
 *     answered before Koa when it can be (fastObject: same signature check, same answerGet),
 *     object metadata is cached per file version, listings read synchronously; --workers N
 *     runs N processes on one port that behave as one server (locks, faults, modes, stats).
 *
 * Only Node APIs available in Node 18 (Debian 12's nodejs) are used. See README.md.
 */
'use strict';

const { AsyncLocalStorage } = require('async_hooks');
const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const fsp = fs.promises;
const http = require('http');
const path = require('path');
const querystring = require('querystring');
const { pipeline, Transform } = require('stream');

const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');
const S3Error = require('@20minutes/s3rver/lib/models/error');
const S3Object = require('@20minutes/s3rver/lib/models/object');
const FilesystemStore = require('@20minutes/s3rver/lib/stores/filesystem');
const bucketCtrl = require('@20minutes/s3rver/lib/controllers/bucket');
const objectCtrl = require('@20minutes/s3rver/lib/controllers/object');
const authenticationMiddleware = require('@20minutes/s3rver/lib/middleware/authentication');
const v4 = require('@20minutes/s3rver/lib/signature/v4');
const { capitalizeHeader } = require('@20minutes/s3rver/lib/utils');

const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OBJECT_SUFFIX = '._S3rver_object'; // s3rver: DIR/<bucket>/<key>._S3rver_object
const UPLOADS_DIR = '._S3rver_uploads'; // s3rver: DIR/<bucket>/._S3rver_uploads/<uploadId>/
const RAW_URL = Symbol('swrepart.rawUrl'); // request target as sent, stashed on req.headers
const REQ_INFO = Symbol('swrepart.reqInfo'); // classify() result, stashed on req

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                               */
/* ------------------------------------------------------------------------------------------ */

const USAGE = `usage: node server.js --dir DATADIR --ready-file FILE [--port 0] [--host 127.0.0.1]
       [--access-key K --secret-key S] [--bucket NAME]... [--region us-east-1]
       [--min-part-size BYTES] [--workers N] [--verbose]`;

function parseArgs(argv) {
  const opts = {
    dir: null,
    port: 0,
    host: '127.0.0.1',
    readyFile: null,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    buckets: [],
    region: 'us-east-1',
    minPartSize: 5 * 1024 * 1024, // S3's EntityTooSmall limit for all parts but the last
    verbose: false,
    workers: 1, // processes serving the port (Node's cluster); 1: this process alone
  };
  let sawAccess = false;
  let sawSecret = false;
  const fail = (msg) => {
    process.stderr.write(`server.js: ${msg}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--dir': opts.dir = next(); break;
      case '--port': opts.port = Number(next()); break;
      case '--host': opts.host = next(); break;
      case '--ready-file': opts.readyFile = next(); break;
      case '--access-key': opts.accessKey = next(); sawAccess = true; break;
      case '--secret-key': opts.secretKey = next(); sawSecret = true; break;
      case '--bucket': opts.buckets.push(next()); break;
      case '--region': opts.region = next(); break;
      case '--min-part-size': opts.minPartSize = Number(next()); break;
      case '--verbose': opts.verbose = true; break;
      case '--workers': opts.workers = Number(next()); break;
      case '-h': case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default: fail(`unknown argument ${arg}`);
    }
  }
  if (!opts.dir) fail('--dir is required');
  if (!opts.readyFile) fail('--ready-file is required');
  if (sawAccess !== sawSecret) fail('--access-key and --secret-key go together');
  if (!opts.accessKey || !opts.secretKey) fail('empty access key or secret key');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fail('bad --port');
  if (!Number.isInteger(opts.minPartSize) || opts.minPartSize < 0) fail('bad --min-part-size');
  if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 64) fail('bad --workers');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

/* ------------------------------------------------------------------------------------------ */
/* Small S3 helpers: encoding, XML, byte order                                                */
/* ------------------------------------------------------------------------------------------ */

/** RFC 3986 percent-encoding of everything but the unreserved A-Z a-z 0-9 - _ . ~ (as AWS). */
function uriEncode(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** Decodes a query component as S3 does ('+' is a space); never throws on bad escapes. */
function queryDecode(s) {
  return querystring.unescape(s.replace(/\+/g, ' '));
}

/** Decodes a path segment ('+' stays '+'); never throws on bad escapes. */
function pathDecode(s) {
  return querystring.unescape(s);
}

/** Splits a raw query string into [name, value] pairs, decoded. */
function parseQuery(rawQuery) {
  const pairs = [];
  for (const part of (rawQuery || '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    pairs.push(
      eq < 0
        ? [queryDecode(part), '']
        : [queryDecode(part.slice(0, eq)), queryDecode(part.slice(eq + 1))],
    );
  }
  return pairs;
}

/** The first value of each query parameter. */
function queryMap(pairs) {
  const m = new Map();
  for (const [k, v] of pairs) if (!m.has(k)) m.set(k, v);
  return m;
}

function splitUrl(url) {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

/** XML text escaping, done exactly once (s3rver escaped '&' in keys twice). */
function xmlEscape(s) {
  return String(s).replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\r]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case "'": return '&apos;';
      default: return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`; // as S3 does
    }
  });
}

function xmlDecode(s) {
  return s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (m, e) => {
    switch (e) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** <name>escaped value</name>; undefined/null values are omitted. */
function tag(name, value) {
  return value === undefined || value === null ? '' : `<${name}>${xmlEscape(value)}</${name}>`;
}

function xmlDoc(body) {
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + body;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * S3 orders keys by their UTF-8 bytes. JS compares UTF-16 code units, which is the same order
 * (that of code points) unless a string holds a surrogate (a code point above U+FFFF).
 */
function byteCompare(a, b) {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function ownerXml(name) {
  const a = AWSAccount.DUMMY_ACCOUNT;
  return `<${name}>${tag('ID', a.id)}${tag('DisplayName', a.displayName)}</${name}>`;
}

function setXmlBody(ctx, xml) {
  ctx.type = 'application/xml';
  ctx.body = xmlDoc(xml);
}

function invalidArgument(message, name, value) {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

/*
 * s3rver's error XML escaped text twice (he.escape, then its XML builder again): a key with
 * '&' in a NoSuchKey <Key>, or the quote in a message, came out as "&amp;amp;"/"&amp;#x27;".
 */
S3Error.prototype.toXML = function toXML() {
  const detail = Object.entries(this.detail || {}).map(([k, v]) => tag(k, v)).join('');
  return xmlDoc(`<Error>${tag('Code', this.code)}${tag('Message', this.message)}${detail}</Error>`);
};

/** An S3Error with an explicit status (for codes missing from s3rver's status table). */
function s3Error(code, message, status, detail) {
  const err = new S3Error(code, message, detail);
  err.status = status;
  err.expose = status < 500;
  return err;
}

/** Strips quotes and a weak prefix from an ETag (header lists or XML). */
function bareEtag(s) {
  return String(s).trim().replace(/^W\//, '').replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, '');
}

/* ------------------------------------------------------------------------------------------ */
/* Workaround 2: SigV4 canonical request                                                      */
/*                                                                                            */
/* s3rver's authentication middleware stays in charge (key lookup, HMAC comparison, error     */
/* answers), only the string to sign it compares against is computed here, correctly:        */
/*  - canonical URI: the request path as sent, each segment decoded and re-encoded RFC 3986;  */
/*    s3rver rebuilt it from the routed bucket/key and so dropped the '/' of "/bucket/";      */
/*  - canonical query: names and values RFC 3986 encoded (s3rver's encodeURIComponent left    */
/*    !'()* raw), sorted by name then value;                                                  */
/*  - canonical headers: values trimmed, inner runs of spaces collapsed;                      */
/*  - the credential scope must be <date>/<region>/s3/aws4_request with this server's region  */
/*    and the date of X-Amz-Date, as S3 requires.                                             */
/* ------------------------------------------------------------------------------------------ */

function canonicalUri(rawPath) {
  if (!rawPath) return '/';
  return rawPath
    .split('/')
    .map((seg) => uriEncode(pathDecode(seg)))
    .join('/');
}

function canonicalQueryString(rawQuery) {
  return parseQuery(rawQuery)
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function checkCredentialScope(credential, timestamp, presigned) {
  const code = presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed';
  const what = presigned ? 'Error parsing the X-Amz-Credential parameter' : 'The authorization header is malformed';
  const { date, region, service, termination } = credential;
  if (!date || !region || !service || !termination) {
    throw new S3Error(code, `${what}; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  if (region !== opts.region) {
    throw new S3Error(code, `${what}; the region '${region}' is wrong; expecting '${opts.region}'`, { Region: opts.region });
  }
  if (service !== 's3') {
    throw new S3Error(code, `${what}; incorrect service '${service}'. This endpoint belongs to 's3'.`);
  }
  if (termination !== 'aws4_request') {
    throw new S3Error(code, `${what}; incorrect terminal '${termination}'. This endpoint uses 'aws4_request'.`);
  }
  if (/^\d{8}T\d{6}Z$/.test(String(timestamp)) && String(timestamp).slice(0, 8) !== date) {
    throw new S3Error(code, `${what}; Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${String(timestamp).slice(0, 8)}".`);
  }
}

v4.getStringToSign = function getStringToSign(canonicalRequest, request) {
  const { credential, signedHeaders } = request;
  const headers = canonicalRequest.headers;
  const [rawPath, rawQuery] = splitUrl(headers[RAW_URL] || canonicalRequest.uri);
  const presigned = /(^|&)X-Amz-Signature=/.test(rawQuery);
  checkCredentialScope(credential, canonicalRequest.timestamp, presigned);
  const canonicalHeaders = signedHeaders
    .map((h) => `${h}:${String(headers[h] === undefined ? '' : headers[h]).trim().replace(/ +/g, ' ')}\n`)
    .join('');
  const payloadHash = headers['x-amz-content-sha256'] || 'UNSIGNED-PAYLOAD';
  const canonical = [
    canonicalRequest.method,
    canonicalUri(rawPath),
    canonicalQueryString(rawQuery),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  return [
    'AWS4-HMAC-SHA256',
    canonicalRequest.timestamp,
    [credential.date, credential.region, credential.service, credential.termination].join('/'),
    crypto.createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
};

const authenticate = authenticationMiddleware();

/* ------------------------------------------------------------------------------------------ */
/* Atomic object and part writes, with Content-MD5 / x-amz-content-sha256 verification        */
/*                                                                                            */
/* s3rver streams a PUT straight into the object file: a failed or interrupted upload leaves  */
/* a truncated object behind, and neither digest header is checked. Here the content goes to  */
/* a temporary file (its name does not end in ._S3rver_object, so listings never see it) that */
/* replaces the object only once the whole body arrived and matched its digests.              */
/* ------------------------------------------------------------------------------------------ */

const DIGESTS = Symbol('swrepart.expectedDigests');

function tmpName(file) {
  return `${file}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
}

/** Writes a small file atomically (readers never see it empty or half-written). */
async function writeFileAtomic(file, data) {
  const tmp = tmpName(file);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Conditional writes (If-None-Match: *, If-Match) and the per-key commit lock                  */
/*                                                                                            */
/* A PutObject or CompleteMultipartUpload runs its store calls inside writeConditions.run():   */
/* putContent (below) reads the conditions when it starts and checks them at the commit, just  */
/* before the rename, while it holds the key's lock. Every commit and delete of a key takes    */
/* that lock, so two conditional writes of one key cannot both see the old object.            */
/* ------------------------------------------------------------------------------------------ */

const writeConditions = new AsyncLocalStorage();
const pathLocks = new Map(); // object path -> the promise the next holder waits for

let workerMode = false;
let s3store = null; // s3rver's FilesystemStore (its path layout) // --workers N > 1: this is one of N processes serving one data dir

function lockFileOf(objectPath) {
  return `${objectPath}.lock`; // not a name listings take for an object
}

/** true once it holds its process's lock file (--workers); false if the key's directory is missing. */
async function takeLockFile(objectPath) {
  const file = lockFileOf(objectPath);
  for (let wait = 1; ; wait = Math.min(wait * 2, 16)) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false; // nothing there to guard
      if (err.code !== 'EEXIST') throw err;
    }
    // The holder's process died (killed in a commit): its lock is stale.
    try {
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (pid > 0) process.kill(pid, 0);
    } catch (err) {
      if (err.code === 'ESRCH') fs.rmSync(file, { force: true });
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/*
 * Runs fn() holding the lock of path: a FIFO chain of promises in this process and, with
 * --workers, a lock file that other processes wait for (created with O_EXCL, polled).
 */
async function withPathLock(p, fn) {
  const prev = pathLocks.get(p) || Promise.resolve();
  let release;
  const mine = new Promise((resolve) => { release = resolve; });
  const tail = prev.then(() => mine);
  pathLocks.set(p, tail);
  await prev;
  let locked = false;
  try {
    if (workerMode) locked = await takeLockFile(p);
    return await fn();
  } finally {
    if (locked) fs.rmSync(lockFileOf(p), { force: true });
    release();
    if (pathLocks.get(p) === tail) pathLocks.delete(p);
  }
}

/** The conditions of a write request, or null: {ifMatch, ifNoneMatch}. */
function writeConditionsOf(ctx) {
  const ifMatch = ctx.get('if-match').trim();
  const ifNoneMatch = ctx.get('if-none-match').trim();
  return ifMatch || ifNoneMatch ? { ifMatch, ifNoneMatch } : null;
}

/** The MD5 ETag (bare hex) of the object at objectPath, or null if there is none. */
async function currentEtag(objectPath) {
  try {
    await fsp.stat(objectPath);
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  }
  try {
    return (await fsp.readFile(`${objectPath}.md5`, 'utf8')).trim();
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  // A fixture written without its .md5: hash it (as s3rver does on first read).
  return crypto.createHash('md5').update(await fsp.readFile(objectPath)).digest('hex');
}

/** Throws S3's answer when cond does not hold for the object at objectPath. */
async function checkWriteConditions(objectPath, cond, key) {
  if (!cond) return;
  const etag = await currentEtag(objectPath);
  const failed = (condition) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
  if (cond.ifNoneMatch) {
    if (cond.ifNoneMatch !== '*') {
      throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'If-None-Match' });
    }
    if (etag !== null) throw failed('If-None-Match');
  }
  if (cond.ifMatch) {
    if (etag === null) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (!etagListMatches(cond.ifMatch, etag)) throw failed('If-Match');
  }
}

/*
 * putContent(objectPath, content[, beforeRename]): beforeRename(md5Hex), when given, runs in
 * the commit, under the key's lock, just before the content replaces the object.
 */
FilesystemStore.prototype.putContent = function putContent(objectPath, content, beforeRename) {
  const tmpPath = tmpName(objectPath);
  const cond = writeConditions.getStore(); // read now: stream callbacks may run in another context
  return new Promise((resolve, reject) => {
    const md5 = crypto.createHash('md5');
    const sha256 = crypto.createHash('sha256');
    const expected = (content && content[DIGESTS]) || {};
    let total = 0;
    const fail = (err) => fsp.unlink(tmpPath).catch(() => {}).then(() => reject(err));
    const finish = (buffered) => {
      if (buffered !== undefined) {
        md5.update(buffered);
        sha256.update(buffered);
        total = buffered.length;
      }
      const md5Hex = md5.digest('hex');
      const shaHex = sha256.digest('hex');
      if (expected.md5 && expected.md5 !== md5Hex) {
        return fail(new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
          ExpectedDigest: Buffer.from(expected.md5, 'hex').toString('base64'),
          CalculatedDigest: Buffer.from(md5Hex, 'hex').toString('base64'),
        }));
      }
      if (expected.sha256 && expected.sha256 !== shaHex) {
        return fail(s3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400, {
          ClientComputedContentSHA256: expected.sha256,
          S3ComputedContentSHA256: shaHex,
        }));
      }
      // The commit, under the key's lock: the conditions, then the MD5 (s3rver's ETag,
      // "<object>.md5") and the content.
      withPathLock(objectPath, async () => {
        if (cond) await checkWriteConditions(objectPath, cond.conditions, cond.key);
        await writeFileAtomic(`${objectPath}.md5`, md5Hex);
        if (beforeRename) await beforeRename(md5Hex);
        await fsp.rename(tmpPath, objectPath);
      }).then(() => resolve([total, md5Hex]), fail);
    };
    if (Buffer.isBuffer(content)) {
      fsp.writeFile(tmpPath, content).then(() => finish(content), fail);
      return;
    }
    pipeline(
      content,
      new Transform({
        transform(chunk, encoding, callback) {
          md5.update(chunk);
          sha256.update(chunk);
          total += chunk.length;
          callback(null, chunk);
        },
      }),
      fs.createWriteStream(tmpPath),
      (err) => (err ? fail(err) : finish()),
    );
  });
};

/*
 * S3 PUTs are atomic: a reader sees the old object or the new one, never one's length with the
 * other's bytes. s3rver's putObject wrote the metadata (which holds the length) after the
 * content. Here the content, its MD5 and its metadata change in one commit under the key's
 * lock, and a GET reads the metadata and opens the content under that lock (getObject below).
 */
FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fsp.mkdir(path.dirname(objectPath), { recursive: true });
  const [size, md5] = await this.putContent(objectPath, object.content,
    (md5Hex) => this.putMetadata(object.bucket, object.key, object.metadata, md5Hex));
  return { size, md5 };
};

/* s3rver's putMetadata, with atomic writes. */
FilesystemStore.prototype.putMetadata = async function putMetadata(bucket, key, metadata, md5) {
  const json = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) json[name] = value;
  }
  if (md5) await writeFileAtomic(this.getResourcePath(bucket, key, 'object.md5'), md5);
  await writeFileAtomic(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
};

/*
 * s3rver's deleteObject also removed emptied parent directories, with an unguarded
 * readdirSync: concurrent deletes in one "folder" failed with 500, and a PUT into a directory
 * being removed could fail too. Directories are left in place here; listings skip empty ones.
 */
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  await withPathLock(this.getResourcePath(bucket, key, 'object'), () =>
    Promise.all(['object', 'object.md5', 'metadata.json'].map((r) =>
      fsp.unlink(this.getResourcePath(bucket, key, r)).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      }))));
};

/*
 * CopyObject of a key onto itself (to replace its metadata) leaves the content file as it
 * was; touch it first, so that its cached metadata (fastObject below, keyed by the file's
 * mtime and ctime, in every worker) is read anew. S3 gives such a copy a new LastModified too.
 */
const s3rverCopyObject = FilesystemStore.prototype.copyObject;
FilesystemStore.prototype.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey, replacement) {
  const dest = this.getResourcePath(destBucket, destKey, 'object');
  if (this.getResourcePath(srcBucket, srcKey, 'object') === dest) {
    const now = new Date();
    await fsp.utimes(dest, now, now).catch(() => {});
    mdCache.delete(dest);
  }
  return s3rverCopyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacement);
};

/** Digests a PUT body must match: from Content-MD5 and a hex x-amz-content-sha256. */
function expectedDigests(ctx) {
  const expected = {};
  const md5b64 = ctx.get('content-md5');
  if (md5b64) {
    const raw = Buffer.from(md5b64, 'base64');
    if (raw.length !== 16 || raw.toString('base64') !== md5b64.trim()) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5b64 });
    }
    expected.md5 = raw.toString('hex');
  }
  const sha = ctx.get('x-amz-content-sha256');
  // aws-chunked bodies carry per-chunk signatures s3rver does not check; nor is the hash here.
  if (/^[0-9a-fA-F]{64}$/.test(sha)) {
    expected.sha256 = sha.toLowerCase();
  }
  return expected;
}

/**
 * Runs an s3rver body-consuming controller with the request body tagged with its expected
 * digests (read by putContent above). s3rver reads the body from ctx.req.
 */
async function withDigests(ctx, controller) {
  const expected = expectedDigests(ctx);
  const realReq = ctx.req;
  if (ctx.get('x-amz-content-sha256') !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') {
    // Plain body: s3rver hands ctx.req itself to putContent, so tag it.
    Object.defineProperty(realReq, DIGESTS, { value: expected, configurable: true });
    return controller(ctx);
  }
  // aws-chunked: s3rver pipes ctx.req through its decoder; only Content-MD5 of the decoded
  // data could be checked, and is, by tagging the decoder's output stream.
  const origPipe = realReq.pipe;
  realReq.pipe = function (dest, options) {
    Object.defineProperty(dest, DIGESTS, { value: { md5: expected.md5 }, configurable: true });
    return origPipe.call(this, dest, options);
  };
  try {
    return await controller(ctx);
  } finally {
    realReq.pipe = origPipe;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Multipart uploads as s3rver stores them: DIR/<bucket>/._S3rver_uploads/<uploadId>/ holding */
/* "key" (the object key), "metadata" (JSON of the initiating request's headers), and for     */
/* each part "<N>" (content) and "<N>.md5" (hex MD5).                                         */
/* ------------------------------------------------------------------------------------------ */

function uploadsRoot(bucket) {
  return path.join(opts.dir, bucket, UPLOADS_DIR);
}

function validUploadId(id) {
  return typeof id === 'string' && /^[0-9a-f]{32}$/.test(id);
}

/** {key, initiated} of an upload in progress, or null. */
async function readUpload(bucket, uploadId) {
  if (!validUploadId(uploadId)) return null;
  const dir = path.join(uploadsRoot(bucket), uploadId);
  try {
    const [key, st] = await Promise.all([
      fsp.readFile(path.join(dir, 'key'), 'utf8'),
      fsp.stat(path.join(dir, 'key')),
    ]);
    return { bucket, uploadId, key, dir, initiated: st.mtime };
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  }
}

async function requireUpload(bucket, key, uploadId) {
  const upload = await readUpload(bucket, uploadId);
  if (!upload || upload.key !== key) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    );
  }
  return upload;
}

/** All uploads in progress in a bucket, sorted by key bytes then upload id. */
async function listUploads(bucket) {
  let ids;
  try {
    ids = await fsp.readdir(uploadsRoot(bucket));
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  const uploads = [];
  for (const id of ids) {
    const upload = await readUpload(bucket, id);
    if (!upload) continue;
    upload.parts = (await listPartFiles(upload.dir)).length;
    uploads.push(upload);
  }
  return uploads.sort((a, b) => byteCompare(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : 1));
}

/** Parts of an upload: [{number, size, etag, lastModified}], by part number. */
async function listPartFiles(dir) {
  const parts = [];
  for (const name of await fsp.readdir(dir)) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    try {
      const [st, md5] = await Promise.all([
        fsp.stat(path.join(dir, name)),
        fsp.readFile(path.join(dir, `${name}.md5`), 'utf8'),
      ]);
      parts.push({ number: Number(name), size: st.size, etag: md5.trim(), lastModified: st.mtime });
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // a part still being written
    }
  }
  return parts.sort((a, b) => a.number - b.number);
}

function checkPartNumber(value) {
  if (!/^[0-9]+$/.test(value || '') || Number(value) < 1 || Number(value) > 10000) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', value);
  }
}

/* UploadPart: s3rver accepted parts for unknown upload ids (creating the directory). */
const s3rverUploadPart = objectCtrl.uploadPart;
objectCtrl.uploadPart = async function uploadPart(ctx) {
  checkPartNumber(ctx.query.partNumber);
  const upload = await requireUpload(ctx.params.bucket, ctx.params.key, ctx.query.uploadId);
  await withDigests(ctx, s3rverUploadPart);
  // Aborted while the part was being written: s3rver's putPart re-created the directory.
  if (!(await readUpload(upload.bucket, upload.uploadId))) {
    await fsp.rm(upload.dir, { recursive: true, force: true });
    throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: upload.uploadId });
  }
};

/*
 * x-amz-copy-source is "[/]bucket/key[?versionId=...]" with the key URL-encoded. s3rver
 * decodes it with decodeURI, which leaves escapes of reserved characters (%2B, %26, %3F...)
 * as they are, so such keys were not found. Rewrite the header (after authentication) so that
 * s3rver's decodeURI yields the exact key; version ids are not supported and are dropped.
 */
function normalizeCopySource(ctx) {
  const raw = String(ctx.headers['x-amz-copy-source'] || '').split('?')[0];
  ctx.headers['x-amz-copy-source'] = encodeURI(pathDecode(raw));
}

const s3rverPutObjectCopy = objectCtrl.putObjectCopy;
objectCtrl.putObjectCopy = async function putObjectCopy(ctx) {
  normalizeCopySource(ctx);
  return s3rverPutObjectCopy(ctx);
};

const s3rverUploadPartCopy = objectCtrl.uploadPartCopy;
objectCtrl.uploadPartCopy = async function uploadPartCopy(ctx) {
  checkPartNumber(ctx.query.partNumber);
  await requireUpload(ctx.params.bucket, ctx.params.key, ctx.query.uploadId);
  normalizeCopySource(ctx);
  return s3rverUploadPartCopy(ctx);
};

/*
 * PutObject: atomic + digests (above), and conditional writes as S3: If-None-Match: * and
 * If-Match, checked before the body is read (a quick answer) and again at the commit.
 */
const s3rverPutObject = objectCtrl.putObject;
objectCtrl.putObject = async function putObject(ctx) {
  const conditions = writeConditionsOf(ctx);
  if (!conditions) return withDigests(ctx, s3rverPutObject);
  const { bucket, key } = ctx.params;
  await checkWriteConditions(ctx.store.getResourcePath(bucket, key, 'object'), conditions, key);
  return writeConditions.run({ conditions, key }, () => withDigests(ctx, s3rverPutObject));
};

/** Reads a request body as UTF-8 text, up to a limit. */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new S3Error('MaxMessageLengthExceeded', 'Your request was too big.'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/*
 * CompleteMultipartUpload, re-done: s3rver checked neither the upload id (500 on a bad one)
 * nor the parts. As S3: parts listed in ascending order (InvalidPartOrder), each uploaded with
 * the given ETag (InvalidPart), all but the last at least --min-part-size (EntityTooSmall).
 * The object's ETag stays s3rver's MD5 of the whole object (S3 would say "<md5>-<parts>").
 */
objectCtrl.completeMultipartUpload = async function completeMultipartUpload(ctx) {
  const { bucket, key } = ctx.params;
  const upload = await requireUpload(bucket, key, ctx.query.uploadId);
  const xml = await readBody(ctx.req, 1024 * 1024);
  const malformed = () => new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) throw malformed();
  const parts = [];
  for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const num = /<PartNumber>\s*([0-9]+)\s*<\/PartNumber>/.exec(m[1]);
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
    if (!num || !etag) throw malformed();
    parts.push({ number: Number(num[1]), etag: bareEtag(xmlDecode(etag[1])) });
  }
  if (!parts.length) throw malformed();
  const stored = new Map((await listPartFiles(upload.dir)).map((p) => [p.number, p]));
  parts.forEach((part, i) => {
    if (i > 0 && part.number <= parts[i - 1].number) {
      throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
    }
    const have = stored.get(part.number);
    if (!have || have.etag !== part.etag) {
      throw new S3Error('InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", { UploadId: upload.uploadId, PartNumber: part.number, ETag: part.etag });
    }
    if (i < parts.length - 1 && have.size < opts.minPartSize) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', { ProposedSize: have.size, MinSizeAllowed: opts.minPartSize, PartNumber: part.number, ETag: part.etag });
    }
  });
  const conditions = writeConditionsOf(ctx);
  if (conditions) await checkWriteConditions(ctx.store.getResourcePath(bucket, key, 'object'), conditions, key);
  const { md5 } = await writeConditions.run(conditions ? { conditions, key } : undefined,
    () => ctx.store.putObjectMultipart(bucket, upload.uploadId, parts));
  setXmlBody(ctx,
    `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}">` +
      tag('Location', ctx.href.split('?')[0]) + tag('Bucket', bucket) + tag('Key', key) +
      tag('ETag', JSON.stringify(md5)) +
      '</CompleteMultipartUploadResult>');
};

/** AbortMultipartUpload (missing in s3rver): removes the upload and its parts; 204. */
async function abortMultipartUpload(ctx, info) {
  const upload = await requireUpload(info.bucket, info.key, info.query.get('uploadId'));
  await fsp.rm(upload.dir, { recursive: true, force: true });
  ctx.status = 204;
}

/** ListMultipartUploads (missing in s3rver): prefix, key-marker, upload-id-marker, max-uploads. */
async function listMultipartUploads(ctx, info) {
  const q = info.query;
  const prefix = q.get('prefix') || '';
  const keyMarker = q.get('key-marker') || '';
  const idMarker = keyMarker ? q.get('upload-id-marker') || '' : '';
  const max = parseMaxKeys(q.get('max-uploads'), 'max-uploads');
  const all = (await listUploads(info.bucket)).filter((u) => {
    if (!u.key.startsWith(prefix)) return false;
    if (!keyMarker) return true;
    const c = byteCompare(u.key, keyMarker);
    return c > 0 || (c === 0 && idMarker !== '' && u.uploadId > idMarker);
  });
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const last = page[page.length - 1];
  setXmlBody(ctx,
    `<ListMultipartUploadsResult xmlns="${S3_XMLNS}">` +
      tag('Bucket', info.bucket) + tag('KeyMarker', keyMarker) + tag('UploadIdMarker', idMarker) +
      (truncated ? tag('NextKeyMarker', last.key) + tag('NextUploadIdMarker', last.uploadId) : '') +
      (prefix ? tag('Prefix', prefix) : '') +
      tag('MaxUploads', max) + tag('IsTruncated', truncated) +
      page.map((u) =>
        '<Upload>' + tag('Key', u.key) + tag('UploadId', u.uploadId) + ownerXml('Initiator') + ownerXml('Owner') +
          tag('StorageClass', 'STANDARD') + tag('Initiated', u.initiated.toISOString()) + '</Upload>').join('') +
      '</ListMultipartUploadsResult>');
}

/** ListParts (missing in s3rver): part-number-marker, max-parts. */
async function listParts(ctx, info) {
  const q = info.query;
  const upload = await requireUpload(info.bucket, info.key, q.get('uploadId'));
  const marker = Number(q.get('part-number-marker') || 0) || 0;
  const max = parseMaxKeys(q.get('max-parts'), 'max-parts');
  const all = (await listPartFiles(upload.dir)).filter((p) => p.number > marker);
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  setXmlBody(ctx,
    `<ListPartsResult xmlns="${S3_XMLNS}">` +
      tag('Bucket', info.bucket) + tag('Key', info.key) + tag('UploadId', upload.uploadId) +
      ownerXml('Initiator') + ownerXml('Owner') + tag('StorageClass', 'STANDARD') +
      tag('PartNumberMarker', marker) +
      tag('NextPartNumberMarker', page.length ? page[page.length - 1].number : marker) +
      tag('MaxParts', max) + tag('IsTruncated', truncated) +
      page.map((p) =>
        '<Part>' + tag('PartNumber', p.number) + tag('LastModified', p.lastModified.toISOString()) +
          tag('ETag', JSON.stringify(p.etag)) + tag('Size', p.size) + '</Part>').join('') +
      '</ListPartsResult>');
}

/* ------------------------------------------------------------------------------------------ */
/* Workaround 1: ListObjects (V1) and ListObjectsV2, re-done from the data directory.         */
/*                                                                                            */
/* Items (keys and CommonPrefixes) are computed over the whole bucket for the given prefix    */
/* and delimiter, ordered by UTF-8 bytes, and paged strictly after a marker: start-after,     */
/* marker, or the item a continuation token names. A CommonPrefix is listed only if it sorts  */
/* after the marker, so a page that ended on a CommonPrefix never repeats it.                 */
/* Directory walking prunes subtrees outside the prefix, before the marker, and (with a       */
/* delimiter) subtrees that all roll up into one CommonPrefix.                                */
/* ------------------------------------------------------------------------------------------ */

// Continuation tokens: base64 of a 3-byte tag + the last item listed. The tag makes every
// token contain '+' and '/' (as real S3 tokens do), so a client that does not percent-encode
// the token in its query string fails here as it would on S3.
const TOKEN_TAG = Buffer.from([0xfb, 0xef, 0xff]);

function makeToken(item) {
  return Buffer.concat([TOKEN_TAG, Buffer.from(item, 'utf8')]).toString('base64');
}

function readToken(token) {
  const raw = Buffer.from(token, 'base64');
  if (!token || raw.toString('base64') !== token || !raw.subarray(0, 3).equals(TOKEN_TAG)) {
    throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  }
  return raw.subarray(3).toString('utf8');
}

function parseMaxKeys(value, name) {
  if (value === undefined || value === '') return 1000;
  if (!/^[0-9]+$/.test(value) || Number(value) > 2147483647) {
    throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, value);
  }
  return Math.min(1000, Number(value));
}

/** true if some object lies under dir (stops at the first one). */
function hasObject(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return false;
    throw err;
  }
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith(OBJECT_SUFFIX)) return true;
  }
  for (const e of entries) {
    if (e.isDirectory() && hasObject(path.join(dir, e.name))) return true;
  }
  return false;
}

/**
 * All list items of a bucket after `after` (byte order), for prefix and delimiter:
 * [{key} | {prefix}] sorted by UTF-8 bytes. Synchronous directory reads: from the page cache
 * they cost a fraction of the thread pool's.
 */
function collectItems(bucket, prefix, delimiter, after) {
  const bucketDir = path.join(opts.dir, bucket);
  const keys = [];
  const prefixes = new Set();
  const isAfter = (s) => after === '' || byteCompare(s, after) > 0;
  // The CommonPrefix a key or directory path rolls up into, or null.
  const rollup = (s) => {
    if (!delimiter || !s.startsWith(prefix)) return null;
    const i = s.indexOf(delimiter, prefix.length);
    return i < 0 ? null : s.slice(0, i + delimiter.length);
  };
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop(); // '' or 'a/b/' (relative directory, as a key prefix)
    let entries;
    try {
      entries = fs.readdirSync(path.join(bucketDir, rel), { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') continue;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (rel === '' && e.name === UPLOADS_DIR) continue; // multipart staging, not objects
        const sub = rel + e.name + '/';
        if (!sub.startsWith(prefix) && !prefix.startsWith(sub)) continue; // outside prefix
        if (after !== '' && !after.startsWith(sub) && byteCompare(sub, after) < 0) continue; // all before marker
        const cp = rollup(sub);
        if (cp !== null) {
          // Every key below rolls up into cp: list cp once, if anything is there.
          if (!prefixes.has(cp) && isAfter(cp) && hasObject(path.join(bucketDir, sub))) prefixes.add(cp);
          continue;
        }
        stack.push(sub);
      } else if (e.isFile() && e.name.endsWith(OBJECT_SUFFIX)) {
        const key = rel + e.name.slice(0, -OBJECT_SUFFIX.length);
        if (key === '' || !key.startsWith(prefix)) continue;
        const cp = rollup(key);
        if (cp !== null) {
          if (isAfter(cp)) prefixes.add(cp);
        } else if (isAfter(key)) {
          keys.push(key);
        }
      }
    }
  }
  const items = keys.map((key) => ({ key, sort: key }));
  for (const p of prefixes) items.push({ prefix: p, sort: p });
  return items.sort((a, b) => byteCompare(a.sort, b.sort));
}

async function listObjects(ctx, info) {
  const q = info.query;
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') || '';
  const delimiter = q.get('delimiter') || '';
  const encodingType = q.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') {
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
  }
  const maxKeysParam = q.get('max-keys');
  const maxKeys = parseMaxKeys(maxKeysParam, 'max-keys');
  let after;
  if (v2) {
    if (q.has('marker')) throw invalidArgument('Marker unsupported with REST.GET.BUCKET in list-type=2', 'marker');
    after = q.has('continuation-token') ? readToken(q.get('continuation-token')) : q.get('start-after') || '';
  } else {
    if (q.has('continuation-token')) throw invalidArgument('continuation-token only supported in REST.GET.BUCKET with list-type=2', 'continuation-token');
    if (q.has('start-after')) throw invalidArgument('startAfter only supported in REST.GET.BUCKET with list-type=2', 'start-after');
    after = q.get('marker') || '';
  }

  const items = maxKeys === 0 ? [] : collectItems(info.bucket, prefix, delimiter, after);
  const page = items.slice(0, maxKeys);
  const truncated = items.length > page.length;
  const last = page.length ? page[page.length - 1] : null;
  const enc = (s) => (encodingType === 'url' ? uriEncode(s).replace(/%2F/g, '/') : s);
  const fetchOwner = !v2 || q.get('fetch-owner') === 'true';

  const contents = [];
  const commonPrefixes = [];
  for (const item of page) {
    if (item.prefix !== undefined) {
      commonPrefixes.push(`<CommonPrefixes>${tag('Prefix', enc(item.prefix))}</CommonPrefixes>`);
      continue;
    }
    const md = await listMetadata(ctx.store, info.bucket, item.key);
    if (!md) continue; // deleted meanwhile
    const size = listSizeRe && listSizeRe.test(item.key) ? modes.list_size.size : md['content-length'];
    contents.push(
      '<Contents>' + tag('Key', enc(item.key)) + listXmlOf(md) + tag('Size', size) +
        (fetchOwner ? ownerXml('Owner') : '') +
        tag('StorageClass', md['x-amz-storage-class'] || 'STANDARD') + '</Contents>');
  }

  let head = tag('Name', info.bucket) + tag('Prefix', enc(prefix));
  // Mode repeat_token: a server that pages forever (the token it gives is the one it got).
  const repeat = v2 && repeatTokenRe !== null && repeatTokenRe.test(ctx.req.url);
  if (v2) {
    if (q.has('continuation-token')) head += tag('ContinuationToken', q.get('continuation-token'));
    else if (after) head += tag('StartAfter', enc(after));
    if (repeat) {
      head += tag('NextContinuationToken', q.has('continuation-token') ? q.get('continuation-token')
        : makeToken(last ? (last.key !== undefined ? last.key : last.prefix) : ''));
    } else if (truncated) head += tag('NextContinuationToken', makeToken(last.key !== undefined ? last.key : last.prefix));
    head += tag('KeyCount', contents.length + commonPrefixes.length);
  } else {
    head += tag('Marker', enc(after));
    if (truncated) head += tag('NextMarker', enc(last.key !== undefined ? last.key : last.prefix));
  }
  head += tag('MaxKeys', maxKeysParam || 1000); // S3 echoes the requested value
  if (delimiter) head += tag('Delimiter', enc(delimiter));
  if (encodingType) head += tag('EncodingType', encodingType);
  head += tag('IsTruncated', truncated || repeat);
  setXmlBody(ctx, `<ListBucketResult xmlns="${S3_XMLNS}">${head}${contents.join('')}${commonPrefixes.join('')}</ListBucketResult>`);
}

// Listing never reaches s3rver's own controller (see the middleware below); should it ever,
// refuse rather than answer wrongly.
bucketCtrl.getBucket = async function getBucket() {
  throw new S3Error('InternalError', 'listing must be handled by the swrepart wrapper');
};

/* ------------------------------------------------------------------------------------------ */
/* Workaround 3: GET/HEAD Object with correct ranges and conditional headers.                 */
/*                                                                                            */
/* s3rver read "bytes=-N" as bytes 0..N, served "bytes=0-0" as the whole object and ignored   */
/* If-Match / If-Unmodified-Since. Single ranges only (S3 serves no multi-range); a Range     */
/* header that is not one valid byte range is ignored (full object, 200), as RFC 9110 says.   */
/* ------------------------------------------------------------------------------------------ */

/** null (no usable range), 'unsatisfiable', or {start, end} (inclusive). */
function parseRange(header, size) {
  const m = /^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$/.exec(header || '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const n = Number(m[2]); // suffix: the last n bytes
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

function etagListMatches(header, etag) {
  return header.split(',').some((t) => t.trim() === '*' || bareEtag(t) === bareEtag(etag));
}

objectCtrl.getObject = async function getObject(ctx) {
  const { bucket, key } = ctx.params;
  const file = ctx.store.getResourcePath(bucket, key, 'object');
  // The metadata and the open content of one version (see putObject above); the descriptor
  // keeps that version's bytes even if a PUT replaces the object meanwhile.
  let md;
  let fh;
  try {
    await withPathLock(file, async () => {
      md = await ctx.store.getMetadata(bucket, key);
      if (ctx.method !== 'HEAD') fh = await fsp.open(file, 'r');
    });
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    throw err;
  }
  let body = null;
  try {
    body = answerGet(ctx, bucket, key, md);
    if (body) ctx.body = fs.createReadStream(null, { fd: fh, start: body.start, end: body.end });
  } finally {
    if (fh && !body) await fh.close();
  }
};

/**
 * Answers a GET or HEAD of the version whose metadata is md: sets the status and headers, or
 * throws S3's error. Returns the byte range {start, end} (inclusive) to send as the body, or
 * null when there is none (HEAD, 304, an empty object: ctx.body is then set). Synchronous, so
 * that the fast path (fastObject below) can run it on a minimal context.
 */
function answerGet(ctx, bucket, key, md, object = new S3Object(bucket, key, null, md)) {
  const size = object.size;
  const etag = md.etag;
  const mtime = object.lastModifiedDate.getTime(); // whole seconds, as Last-Modified

  // Preconditions, in S3's order: If-Match beats If-Unmodified-Since; If-None-Match beats
  // If-Modified-Since.
  const ifMatch = ctx.get('if-match');
  const ifUnmodified = Date.parse(ctx.get('if-unmodified-since'));
  const ifNoneMatch = ctx.get('if-none-match');
  const ifModified = Date.parse(ctx.get('if-modified-since'));
  const preconditionFailed = (condition) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition });
  if (ifMatch) {
    if (!etagListMatches(ifMatch, etag)) throw preconditionFailed('If-Match');
  } else if (!Number.isNaN(ifUnmodified) && mtime > ifUnmodified) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if ((ifNoneMatch && etagListMatches(ifNoneMatch, etag)) ||
      (!ifNoneMatch && !Number.isNaN(ifModified) && mtime <= ifModified)) {
    ctx.set('ETag', etag);
    ctx.set('Last-Modified', md['last-modified']);
    ctx.status = 304;
    return null;
  }

  const range = parseRange(ctx.get('range'), size);
  if (range === 'unsatisfiable') {
    ctx.set('Content-Range', `bytes */${size}`);
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: ctx.get('range'),
      ActualObjectSize: size,
    });
  }
  ctx.set('Accept-Ranges', 'bytes');
  for (const header of Object.keys(object.metadata)) {
    if (header === 'content-length') continue;
    ctx.set(capitalizeHeader(header), object.metadata[header]);
  }
  if (range) {
    ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    ctx.status = 206;
    ctx.length = range.end - range.start + 1;
  } else {
    ctx.status = 200;
    ctx.length = size;
  }
  if (ctx.method === 'HEAD') return null; // koa sends the headers only
  if (ctx.length === 0) {
    ctx.body = ''; // (a null body would make koa send its status text)
    return null;
  }
  return range ? { start: range.start, end: range.end } : { start: 0, end: size - 1 };
}

/* ------------------------------------------------------------------------------------------ */
/* Fast path: GET/HEAD Object and listing metadata without s3rver's async store reads          */
/*                                                                                            */
/* The metadata of an object version (its .md5 and metadata.json) is cached by object path,   */
/* tagged with the content file's inode, size, mtime and ctime: a PUT renames a new file over  */
/* the object (new inode), a fixture rewritten in place changes mtime and ctime, so one stat   */
/* (or fstat of the open descriptor) validates an entry. A version whose file changed in the  */
/* last second is not cached (a fixture may still be writing its .md5 or metadata.json), and   */
/* CopyObject onto itself touches the object (as S3, a new LastModified).                      */
/* Reads are synchronous: from the page cache they cost less CPU than the thread pool.         */
/* ------------------------------------------------------------------------------------------ */

const mdCache = new Map(); // object path -> {ino, size, mtimeMs, ctimeMs, md5, stored}
const MD_CACHE_MAX = 200000;
const SMALL_BODY = 256 * 1024; // GET bodies up to this are read at once, larger ones streamed

// Reads here do not update atime (O_NOATIME, where the kernel allows it: the files' owner or
// root): a first read of a freshly written file would otherwise cost a metadata write each.
let noAtime = fs.constants.O_NOATIME || 0;

function openNoAtime(file) {
  if (noAtime) {
    try {
      return fs.openSync(file, fs.constants.O_RDONLY | noAtime);
    } catch (err) {
      if (err.code !== 'EPERM') throw err;
      noAtime = 0; // not the owner: plain opens from now on
    }
  }
  return fs.openSync(file, 'r');
}

const smallBuf = Buffer.allocUnsafe(64 * 1024);

/** A small file's text (latin1 or utf8), one open + read + close. */
function readSmall(file, encoding) {
  const fd = openNoAtime(file);
  try {
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, smallBuf, n, smallBuf.length - n, n);
      if (r === 0) return smallBuf.toString(encoding, 0, n);
      n += r;
      if (n === smallBuf.length) return fs.readFileSync(file, encoding); // not small
    }
  } finally {
    fs.closeSync(fd);
  }
}

function sameVersion(e, st) {
  return e.ino === st.ino && e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs;
}

function metadataPathOf(objectPath) {
  return objectPath.slice(0, -'object'.length) + 'metadata.json';
}

/** A commit (or delete) of objectPath is in progress, here or (--workers) in another process. */
function commitBusy(objectPath) {
  if (pathLocks.has(objectPath)) return true;
  return workerMode && fs.existsSync(lockFileOf(objectPath));
}

/**
 * The cached {md5, stored} of the version of objectPath whose stat is st, read if needed; null
 * when it cannot be had consistently now (a commit in progress, no .md5 yet): the caller then
 * takes the slow path, which waits for the key's lock.
 */
function versionOf(objectPath, st) {
  let e = mdCache.get(objectPath);
  if (e && sameVersion(e, st)) return e;
  // A seqlock: no commit before nor after the reads, and the path still names the same file.
  if (commitBusy(objectPath)) return null;
  let md5;
  try {
    md5 = readSmall(`${objectPath}.md5`, 'latin1');
  } catch (err) {
    if (err.code === 'ENOENT') return null; // s3rver computes and writes it (slow path)
    throw err;
  }
  let stored;
  try {
    stored = JSON.parse(readSmall(metadataPathOf(objectPath), 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') return null; // let the slow path answer as it always did
  }
  // (In one process no commit can run between these synchronous reads: checked before is enough.)
  if (workerMode && (commitBusy(objectPath) || !sameVersion(st, fs.statSync(objectPath)))) return null;
  e = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, md5, stored, md: null, object: null };
  if (Date.now() - st.ctimeMs > 1000) {
    if (mdCache.size >= MD_CACHE_MAX) mdCache.clear();
    mdCache.set(objectPath, e);
  }
  return e;
}

/** s3rver's getMetadata() result for a version (computed once per cache entry). */
function metadataOf(e, st) {
  if (!e.md) e.md = { ...e.stored, etag: JSON.stringify(e.md5), 'last-modified': st.mtime.toUTCString(), 'content-length': st.size };
  return e.md;
}

/**
 * Listing: metadata of the object of a listed key, or null if it is gone. (Listed keys come
 * from the directory walk: no '.', '..' or empty segments, so the object path is a plain join.)
 */
async function listMetadata(store, bucket, key) {
  const objectPath = `${opts.dir}/${bucket}/${key}${OBJECT_SUFFIX}`;
  let st;
  try {
    st = fs.statSync(objectPath, { throwIfNoEntry: false });
  } catch (err) {
    if (err.code === 'ENOTDIR') return null;
    throw err;
  }
  if (!st) return null;
  const e = versionOf(objectPath, st);
  if (e) return metadataOf(e, st);
  try {
    return await store.getMetadata(bucket, key);
  } catch (err) {
    if (err.code === 'ENOENT') return null; // deleted meanwhile
    throw err;
  }
}

const LIST_XML = Symbol('swrepart.listXml');

/** <LastModified> and <ETag> of a listed version, made once per (cached) metadata. */
function listXmlOf(md) {
  let xml = md[LIST_XML];
  if (xml === undefined) {
    xml = tag('LastModified', new Date(md['last-modified']).toISOString()) + tag('ETag', md.etag);
    Object.defineProperty(md, LIST_XML, { value: xml });
  }
  return xml;
}

const signingKeys = new Map(); // secret, date, region, service -> key
const s3rverSigningKey = v4.getSigningKey;
v4.getSigningKey = function getSigningKey(secretKey, date, region, service) {
  const id = `${secretKey}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size > 64) signingKeys.clear();
    key = s3rverSigningKey(secretKey, date, region, service);
    signingKeys.set(id, key);
  }
  return key;
};

/**
 * true if req carries a valid SigV4 Authorization header for this server: the same checks as
 * s3rver's authentication middleware with the corrected string to sign (getStringToSign
 * above). Anything else (presigned, malformed, skewed, wrong key or signature) is false, and
 * the request takes the slow path, whose middleware gives the exact error.
 */
function signedForFastPath(req) {
  const h = req.headers;
  const auth = h.authorization;
  if (!auth || !auth.startsWith('AWS4-HMAC-SHA256 ')) return false;
  const sha = h['x-amz-content-sha256'];
  if (!sha || !/^(UNSIGNED-PAYLOAD|STREAMING-AWS4-HMAC-SHA256-PAYLOAD|[0-9A-Fa-f]{64})$/.test(sha)) return false;
  const time = h['x-amz-date'];
  if (!time || !/^\d{8}T\d{6}Z$/.test(time)) return false;
  const t = Date.UTC(+time.slice(0, 4), +time.slice(4, 6) - 1, +time.slice(6, 8), +time.slice(9, 11), +time.slice(11, 13), +time.slice(13, 15));
  if (!(Math.abs(Date.now() - t) <= 900000)) return false;
  const parts = new Map(auth.split(' ').slice(1).join('').split(',').map((c) => {
    const [k, ...v] = c.split('=');
    return [k, v.join('=')];
  }));
  if (parts.size !== 3 || !parts.has('Credential') || !parts.has('SignedHeaders') || !parts.has('Signature')) return false;
  const [accessKeyId, date, region, service, termination] = parts.get('Credential').split('/');
  if (accessKeyId !== opts.accessKey) return false;
  const credential = { date, region, service, termination };
  let stringToSign;
  try {
    stringToSign = v4.getStringToSign(
      { method: req.method, headers: h, timestamp: time, uri: req.url },
      { credential, signedHeaders: parts.get('SignedHeaders').split(';') });
  } catch (err) {
    return false; // a wrong credential scope: the slow path says which
  }
  const key = v4.getSigningKey(opts.secretKey, date, region, service);
  return crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex') === parts.get('Signature');
}

const bucketPlain = new Map(); // bucket -> {mtimeMs, plain}: exists, no website / CORS config

/** The bucket exists and has neither a website nor a CORS configuration (s3rver's extras). */
function plainBucket(bucket) {
  const dir = path.join(opts.dir, bucket);
  let st;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    return false;
  }
  const e = bucketPlain.get(bucket);
  if (e && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs) return e.plain;
  const plain = st.isDirectory() && !fs.existsSync(path.join(dir, '._S3rver_website')) &&
    !fs.existsSync(path.join(dir, '._S3rver_cors'));
  bucketPlain.set(bucket, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, plain });
  return plain;
}

/**
 * GET/HEAD Object answered without Koa: for a plain request (no query, a header signature,
 * a key s3rver would route) whose signature holds, of an object whose version can be had at
 * once. answerGet() runs on a minimal context; its S3 errors (412, 416) and every request
 * that does not qualify go the slow path. Returns true if the request was answered.
 */
function fastObject(req, res, info) {
  if ((info.op !== 'GetObject' && info.op !== 'HeadObject') || req.url.indexOf('?') >= 0) return false;
  // A bucket name as S3 allows, a key without '.' / '..' segments or '//' (the slow path
  // answers those as it always did).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(info.bucket) || info.bucket.includes('..')) return false;
  if (!info.key || info.key.startsWith('/') || info.key.includes('//') ||
      info.key.split('/').some((s) => s === '.' || s === '..')) return false;
  if (!signedForFastPath(req) || !plainBucket(info.bucket)) return false;
  const objectPath = s3store.getResourcePath(info.bucket, info.key, 'object');
  const head = req.method === 'HEAD';
  let fd = null;
  let st;
  let e;
  try {
    if (head) {
      st = fs.statSync(objectPath);
    } else {
      fd = openNoAtime(objectPath);
      st = fs.fstatSync(fd);
    }
    e = st.isFile() && st.size > 0 ? versionOf(objectPath, st) : null;
  } catch (err) {
    e = null;
  }
  if (!e) {
    if (fd !== null) fs.closeSync(fd);
    return false;
  }
  const headers = [];
  const ctx = {
    method: req.method,
    status: 200,
    length: undefined,
    body: undefined,
    get: (name) => req.headers[name.toLowerCase()] || '',
    set: (name, value) => { headers.push([name, String(value)]); },
  };
  let body;
  try {
    const md = metadataOf(e, st);
    if (!e.object) e.object = new S3Object(info.bucket, info.key, null, md);
    body = answerGet(ctx, info.bucket, info.key, md, e.object);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd); // an S3 error (412, 416): the slow path answers it
    return false;
  }
  const out = {};
  for (const [k, v] of headers) out[k] = v;
  if (ctx.status !== 304) out['Content-Length'] = String(ctx.length);
  res.writeHead(ctx.status, out);
  if (!body) {
    if (fd !== null) fs.closeSync(fd);
    res.end();
    return true;
  }
  const { start, end } = body;
  if (end - start + 1 <= SMALL_BODY) {
    const buf = Buffer.allocUnsafe(end - start + 1);
    let n = 0;
    try {
      while (n < buf.length) {
        const r = fs.readSync(fd, buf, n, buf.length - n, start + n);
        if (r === 0) break;
        n += r;
      }
    } finally {
      fs.closeSync(fd);
    }
    res.end(n === buf.length ? buf : buf.subarray(0, n));
    return true;
  }
  const stream = fs.createReadStream(null, { fd, start, end });
  stream.on('error', () => res.destroy());
  res.once('close', () => stream.destroy());
  stream.pipe(res);
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Request classification (for stats, fault rules and the wrapper's own operations)           */
/* ------------------------------------------------------------------------------------------ */

function classify(method, url, headers) {
  const copy = 'x-amz-copy-source' in headers;
  const [rawPath, rawQuery] = splitUrl(url);
  const query = queryMap(parseQuery(rawQuery));
  const slash = rawPath.indexOf('/', 1);
  const bucket = pathDecode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
  const key = slash < 0 ? '' : pathDecode(rawPath.slice(slash + 1));
  const has = (p) => query.has(p);
  let op = 'Other';
  if (!bucket) {
    if (method === 'GET') op = 'ListBuckets';
  } else if (!key) {
    const sub = bucketCtrl.METHODS.find(has);
    switch (method) {
      case 'GET':
        op = sub === 'uploads' ? 'ListMultipartUploads'
          : sub ? `GetBucket:${sub}`
          : query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
        break;
      case 'HEAD': op = 'HeadBucket'; break;
      case 'PUT': op = sub ? `PutBucket:${sub}` : 'CreateBucket'; break;
      case 'DELETE': op = sub ? `DeleteBucket:${sub}` : 'DeleteBucket'; break;
      case 'POST': op = sub === 'delete' ? 'DeleteObjects' : 'PostObject'; break;
      case 'OPTIONS': op = 'Options'; break;
    }
  } else {
    switch (method) {
      case 'GET':
        op = has('uploadId') ? 'ListParts' : has('tagging') ? 'GetObjectTagging' : has('acl') ? 'GetObjectAcl' : 'GetObject';
        break;
      case 'HEAD': op = 'HeadObject'; break;
      case 'PUT':
        op = has('uploadId') ? (copy ? 'UploadPartCopy' : 'UploadPart')
          : has('tagging') ? 'PutObjectTagging' : copy ? 'CopyObject' : 'PutObject';
        break;
      case 'POST':
        op = has('uploads') ? 'CreateMultipartUpload' : has('uploadId') ? 'CompleteMultipartUpload' : 'Other';
        break;
      case 'DELETE': op = has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'; break;
      case 'OPTIONS': op = 'Options'; break;
    }
  }
  return { op, bucket, key, query };
}

/** HeadBucket: s3rver routes HEAD /bucket to its listing; a bucket that exists is 200. */
async function headBucket(ctx) {
  ctx.set('x-amz-bucket-region', opts.region);
  ctx.status = 200;
}

/* Operations the wrapper answers itself (s3rver lacks them or gets them wrong). */
const OWN_OPERATIONS = {
  HeadBucket: headBucket,
  ListObjects: listObjects,
  ListObjectsV2: listObjects,
  ListMultipartUploads: listMultipartUploads,
  ListParts: listParts,
  AbortMultipartUpload: abortMultipartUpload,
};

/**
 * Koa middleware placed in s3rver's app just before its router:
 *  - refuses unsigned requests (s3rver let them through as anonymous) and SigV2;
 *  - answers OWN_OPERATIONS after s3rver's own authentication middleware and bucket check.
 */
async function wrapperMiddleware(ctx, next) {
  const info = ctx.req[REQ_INFO];
  if (ctx.method !== 'OPTIONS') {
    const auth = ctx.get('authorization');
    const signed = auth !== '' || 'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query;
    if (!signed) throw new S3Error('AccessDenied', 'Access Denied');
    if ((auth && !/^AWS4-HMAC-SHA256 /.test(auth)) || 'Signature' in ctx.query) {
      throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
  }
  const handler = info && OWN_OPERATIONS[info.op];
  if (!handler) return next();
  ctx.params = { bucket: info.bucket, key: info.key || undefined };
  await authenticate(ctx, async () => {
    await bucketCtrl.bucketExists(ctx);
    await handler(ctx, info);
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics and fault injection (test-only, /__control/)                                    */
/* ------------------------------------------------------------------------------------------ */

function emptyStats() {
  // sse: the server-side encryption each PUT / CreateMultipartUpload asked for, by path (s3rver
  // accepts the headers and ignores them; this shows that a client sent them).
  // maxInFlight: the most requests of each operation seen in progress at once.
  return { requests: 0, byMethod: {}, byOperation: {}, byStatus: {}, faults: { total: 0, byAction: {} }, sse: {}, maxInFlight: {} };
}
let stats = emptyStats();
const inFlight = {}; // requests in progress by operation (not reset with the stats)
const delayed = new Set(); // the release functions of requests waiting out a delay
const bump = (obj, k) => { obj[k] = (obj[k] || 0) + 1; };

const FAULT_ACTIONS = ['503', '500', 'reset', 'delay', 'truncate', 'slowdown', '501', '403', 'conflict'];

/*
 * Modes (POST /__control/mode): this server behaves like another one until they are reset.
 * Checked on each request with a few property reads (the regexes only when set).
 */
function defaultModes() {
  return {
    no_conditional_writes: false, // 501 to PutObject / CompleteMultipartUpload with If-(None-)Match
    no_multipart_listing: false, // 501 to ListMultipartUploads and AbortMultipartUpload
    repeat_token: null, // regex on the request target: ListObjectsV2 repeats its token forever
    list_size: null, // {key_regex, size}: listed <Size> of matching keys, as given (a string)
  };
}
let modes = defaultModes();
let repeatTokenRe = null;
let listSizeRe = null;

function setModes(spec) {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new Error('modes are a JSON object');
  const next = { ...modes };
  for (const [k, v] of Object.entries(spec)) {
    switch (k) {
      case 'no_conditional_writes':
      case 'no_multipart_listing':
        if (typeof v !== 'boolean') throw new Error(`${k} must be true or false`);
        next[k] = v;
        break;
      case 'repeat_token':
        if (v !== null && typeof v !== 'string') throw new Error('repeat_token must be a regex string or null');
        next[k] = v;
        break;
      case 'list_size':
        if (v !== null && (typeof v !== 'object' || typeof v.key_regex !== 'string' || typeof v.size !== 'string')) {
          throw new Error('list_size must be {"key_regex": "...", "size": "..."} or null');
        }
        next[k] = v && { key_regex: v.key_regex, size: v.size };
        break;
      default:
        throw new Error(`unknown mode ${k}: one of ${Object.keys(defaultModes()).join(', ')}`);
    }
  }
  const rt = next.repeat_token === null ? null : new RegExp(next.repeat_token);
  const ls = next.list_size === null ? null : new RegExp(next.list_size.key_regex);
  modes = next;
  repeatTokenRe = rt;
  listSizeRe = ls;
  return modes;
}

/** The answer a mode gives to this request instead of the normal one: [code, header] or null. */
function modeAnswer(req, info) {
  if (modes.no_multipart_listing && (info.op === 'ListMultipartUploads' || info.op === 'AbortMultipartUpload')) {
    return ['NotImplemented', null];
  }
  if (modes.no_conditional_writes && (info.op === 'PutObject' || info.op === 'CompleteMultipartUpload')) {
    if ('if-match' in req.headers) return ['NotImplemented', 'If-Match'];
    if ('if-none-match' in req.headers) return ['NotImplemented', 'If-None-Match'];
  }
  return null;
}
let faultRules = [];

function addFaultRule(spec) {
  if (!spec || typeof spec !== 'object') throw new Error('a fault rule is a JSON object');
  const action = String(spec.action);
  if (!FAULT_ACTIONS.includes(action)) throw new Error(`action must be one of ${FAULT_ACTIONS.join(', ')}`);
  const count = spec.count === undefined ? 1 : Number(spec.count);
  if (!Number.isInteger(count) || count < 1) throw new Error('count must be a positive integer');
  const delayMs = spec.delay_ms === undefined ? (action === 'delay' ? 1000 : 0) : Number(spec.delay_ms);
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error('delay_ms must be a non-negative number');
  const bytes = spec.bytes === undefined ? null : Number(spec.bytes);
  if (bytes !== null && (!Number.isInteger(bytes) || bytes < 0)) throw new Error('bytes must be a non-negative integer');
  const every = spec.every === undefined ? 1 : Number(spec.every);
  if (!Number.isInteger(every) || every < 1) throw new Error('every must be a positive integer');
  const rule = {
    every,
    seen: 0,
    method: spec.method ? String(spec.method).toUpperCase() : null,
    path_regex: spec.path_regex ? String(spec.path_regex) : null,
    regex: spec.path_regex ? new RegExp(String(spec.path_regex)) : null,
    action,
    count,
    delay_ms: delayMs,
    bytes,
  };
  faultRules.push(rule);
  return rule;
}

/**
 * Takes one use of the first rule matching this request, or null.  A rule with every=K
 * applies to one matching request in K (the K-th, 2K-th, ...): a share of the traffic.
 */
function takeFault(req) {
  const i = faultRules.findIndex((r) => (!r.method || r.method === req.method) && (!r.regex || r.regex.test(req.url)) &&
    (r.seen++ % r.every) === r.every - 1);
  if (i < 0) return null;
  const rule = faultRules[i];
  if (--rule.count === 0) faultRules.splice(i, 1);
  return rule;
}

function publicRule(r) {
  return { method: r.method, path_regex: r.path_regex, action: r.action, count: r.count, every: r.every, delay_ms: r.delay_ms, bytes: r.bytes };
}

// Request ids: 16 upper-case hex digits, a random prefix per process and a counter (unique
// within a run, no random draw per request).
const REQUEST_ID_PREFIX = crypto.randomBytes(4).toString('hex').toUpperCase();
let requestCounter = 0;
function requestId() {
  requestCounter = (requestCounter + 1) % 0x100000000;
  return REQUEST_ID_PREFIX + requestCounter.toString(16).toUpperCase().padStart(8, '0');
}

function sendS3Error(req, res, status, code, message, detail) {
  const extra = Object.entries(detail || {}).map(([k, v]) => tag(k, v)).join('');
  const body = xmlDoc(`<Error>${tag('Code', code)}${tag('Message', message)}${extra}${tag('RequestId', crypto.randomBytes(8).toString('hex').toUpperCase())}</Error>`);
  const headers = { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) };
  // A request body (maybe never sent, under Expect: 100-continue) is not read: close the
  // connection after the answer rather than parse the body as the next request.
  const hasBody = Number(req.headers['content-length'] || 0) > 0 || 'transfer-encoding' in req.headers;
  if (hasBody) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
  if (hasBody) req.resume();
}

/**
 * truncate: let the request be answered normally, but after the headers (with the full
 * Content-Length) send only `bytes` bytes of the body (default: half of it) and close.
 */
function truncateResponse(res, rule) {
  const origWrite = res.write;
  const origEnd = res.end;
  let sent = 0;
  let limit = null;
  let cut = false;
  const closeAfter = () => {
    cut = true;
    const socket = res.socket;
    if (!socket) return;
    res.flushHeaders();
    // end() flushes what was written, then closes: the client sees a short body.
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  res.write = function write(chunk, encoding, cb) {
    if (cut) return true;
    if (limit === null) {
      const len = Number(res.getHeader('content-length'));
      limit = rule.bytes !== null ? rule.bytes : Number.isFinite(len) ? Math.floor(len / 2) : 0;
    }
    if (typeof chunk === 'string') chunk = Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    const room = limit - sent;
    if (chunk.length < room) {
      sent += chunk.length;
      return origWrite.call(this, chunk);
    }
    if (room > 0) origWrite.call(this, chunk.subarray(0, room));
    sent = limit;
    closeAfter();
    return true;
  };
  res.end = function end(chunk, encoding, cb) {
    if (typeof chunk === 'function') chunk = undefined;
    if (chunk && !cut) res.write(chunk, encoding);
    if (!cut) closeAfter();
    res.write = origWrite;
    res.end = origEnd;
    return this;
  };
}

/* ------------------------------------------------------------------------------------------ */
/* /__control/ endpoints                                                                      */
/* ------------------------------------------------------------------------------------------ */

function sendJson(res, status, value) {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readJsonBody(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { text += d; if (text.length > 65536) reject(new Error('body too large')); });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  }).then((text) => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`bad JSON: ${err.message}`);
    }
  });
}

/* The control routes that read or change the server's shared state (one server, whatever
 * the number of processes: with --workers, the primary answers them, see the cluster below). */
const SHARED_ROUTES = new Set([
  'POST /__control/fault', 'GET /__control/fault', 'DELETE /__control/fault',
  'GET /__control/stats', 'DELETE /__control/stats',
  'POST /__control/mode', 'GET /__control/mode', 'DELETE /__control/mode',
  'POST /__control/release', 'GET /__control/inflight',
]);

function localRelease() {
  const n = delayed.size;
  for (const fire of [...delayed]) fire();
  return { released: n };
}

function localInflight() {
  const total = Object.values(inFlight).reduce((a, b) => a + b, 0);
  return { total, delayed: delayed.size, byOperation: inFlight };
}

/** The answer to a shared control route (spec: its JSON body), here or, with --workers, in the primary. */
async function sharedControl(route, spec) {
  switch (route) {
    case 'POST /__control/fault': {
      let added;
      try {
        added = (Array.isArray(spec) ? spec : [spec]).map(addFaultRule).map(publicRule);
      } finally {
        await syncFaults();
      }
      return { added, pending: faultRules.map(publicRule) };
    }
    case 'GET /__control/fault':
      return { pending: faultRules.map(publicRule) };
    case 'DELETE /__control/fault':
      faultRules = [];
      await syncFaults();
      return { pending: [] };
    case 'GET /__control/stats':
      return primaryOfWorkers ? mergeStats(await askWorkers({ t: 'stats' })) : stats;
    case 'DELETE /__control/stats':
      if (!primaryOfWorkers) {
        stats = emptyStats();
        return stats;
      }
      await askWorkers({ t: 'stats-reset' });
      return mergeStats([]);
    case 'POST /__control/mode':
      setModes(spec);
      await syncModes();
      return modes;
    case 'GET /__control/mode':
      return modes;
    case 'DELETE /__control/mode':
      setModes(defaultModes());
      await syncModes();
      return modes;
    case 'POST /__control/release':
      if (!primaryOfWorkers) return localRelease();
      return { released: (await askWorkers({ t: 'release' })).reduce((n, r) => n + r.released, 0) };
    case 'GET /__control/inflight': {
      if (!primaryOfWorkers) return localInflight();
      const sum = { total: 0, delayed: 0, byOperation: {} };
      for (const r of await askWorkers({ t: 'inflight' })) {
        sum.total += r.total;
        sum.delayed += r.delayed;
        addCounts(sum.byOperation, r.byOperation);
      }
      return sum;
    }
    default:
      throw new Error(`no shared control route ${route}`);
  }
}

async function handleControl(req, res, rawPath, rawQuery) {
  const route = `${req.method} ${rawPath.replace(/\/+$/, '')}`;
  const q = queryMap(parseQuery(rawQuery));
  try {
    if (SHARED_ROUTES.has(route)) {
      const spec = route === 'POST /__control/fault' || route === 'POST /__control/mode' ? await readJsonBody(req) : undefined;
      const value = workerMode ? await askPrimary({ t: 'control', route, spec }) : await sharedControl(route, spec);
      return sendJson(res, 200, value);
    }
    switch (route) {
      case 'GET /__control/uploads': {
        const buckets = q.has('bucket')
          ? [q.get('bucket')]
          : (await fsp.readdir(opts.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
        const uploads = [];
        for (const b of buckets) {
          for (const u of await listUploads(b)) {
            uploads.push({ bucket: b, key: u.key, uploadId: u.uploadId, initiated: u.initiated.toISOString(), parts: u.parts });
          }
        }
        return sendJson(res, 200, { uploads });
      }
      case 'GET /__control/health':
        return sendJson(res, 200, {
          ok: true, pid: workerMode ? process.ppid : process.pid, worker: process.pid, workers: opts.workers,
          node: process.version, region: opts.region,
        });
      default:
        return sendJson(res, 404, { error: `no control endpoint ${route}` });
    }
  } catch (err) {
    return sendJson(res, 400, { error: err.message });
  }
}

/* ------------------------------------------------------------------------------------------ */
/* --workers N: N processes (Node's cluster) on one port, behaving as one server               */
/*                                                                                            */
/* The primary forks the workers, which share the listening socket, and holds the shared      */
/* state: fault rules (a worker asks it for each request that a pending rule may match, so     */
/* that count and every hold across processes), modes (broadcast to every worker before the   */
/* control request is answered) and the answers to stats, inflight and release (gathered from */
/* every worker). Per-key commit locks are lock files (withPathLock above).                    */
/* ------------------------------------------------------------------------------------------ */

let primaryOfWorkers = false; // this process is the primary of --workers N > 1
let faultMirror = []; // in a worker: [{method, regex}] of the primary's pending rules
let sseAt = {}; // in a worker: path -> monotonic time of stats.sse[path] (the latest wins)
const workers = [];
let ipcSeq = 0;
const ipcWaiting = new Map(); // id -> {resolve, reject}

function addCounts(into, from) {
  for (const [k, v] of Object.entries(from || {})) into[k] = (into[k] || 0) + v;
}

/** Stats of the whole server from the workers' own: sums; sse the latest; maxInFlight null. */
function mergeStats(list) {
  const out = emptyStats();
  out.maxInFlight = null; // the peak of a sum of counters in several processes is not known
  const at = {};
  for (const s of list) {
    out.requests += s.requests;
    addCounts(out.byMethod, s.byMethod);
    addCounts(out.byOperation, s.byOperation);
    addCounts(out.byStatus, s.byStatus);
    out.faults.total += s.faults.total;
    addCounts(out.faults.byAction, s.faults.byAction);
    for (const [p, v] of Object.entries(s.sse)) {
      if (!(p in at) || s.sseAt[p] > at[p]) {
        out.sse[p] = v;
        at[p] = s.sseAt[p];
      }
    }
  }
  return out;
}

/** Worker: sends msg to the primary, resolves with its answer (rejects with its error). */
function askPrimary(msg) {
  return new Promise((resolve, reject) => {
    const id = ++ipcSeq;
    ipcWaiting.set(id, { resolve, reject });
    process.send({ ...msg, id });
  });
}

/** Primary: sends msg to every worker, resolves with their answers. */
function askWorkers(msg) {
  return Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    const id = ++ipcSeq;
    ipcWaiting.set(id, { resolve, reject });
    w.send({ ...msg, id });
  })));
}

function settleIpc(m) {
  const waiter = ipcWaiting.get(m.id);
  if (!waiter) return;
  ipcWaiting.delete(m.id);
  if (m.error !== undefined) waiter.reject(new Error(m.error));
  else waiter.resolve(m.value);
}

function mirrorOf(rules) {
  return rules.map((r) => ({ method: r.method, path_regex: r.path_regex }));
}

async function syncFaults() {
  if (primaryOfWorkers) await askWorkers({ t: 'faults', rules: mirrorOf(faultRules) });
}

async function syncModes() {
  if (primaryOfWorkers) await askWorkers({ t: 'modes', modes });
}

/** Worker: might a pending rule (as last broadcast) match this request? */
function mayFault(req) {
  return faultMirror.some((r) => (!r.method || r.method === req.method) && (!r.regex || r.regex.test(req.url)));
}

/** Primary: a worker's request. */
async function onWorkerMessage(worker, m) {
  if (m.t === 'reply') return settleIpc(m);
  let value;
  try {
    if (m.t === 'take') {
      const before = faultRules.length;
      const rule = takeFault({ method: m.method, url: m.url });
      if (faultRules.length !== before) syncFaults().catch(() => {}); // a rule used up
      value = rule && { action: rule.action, delay_ms: rule.delay_ms, bytes: rule.bytes };
    } else if (m.t === 'control') {
      value = await sharedControl(m.route, m.spec);
    } else {
      throw new Error(`unknown message ${m.t}`);
    }
  } catch (err) {
    if (worker.isConnected()) worker.send({ t: 'reply', id: m.id, error: err.message });
    return undefined;
  }
  if (worker.isConnected()) worker.send({ t: 'reply', id: m.id, value: value === undefined ? null : value });
  return undefined;
}

/** Worker: the primary's message. */
function onPrimaryMessage(m) {
  if (m.t === 'reply') return settleIpc(m);
  let value = null;
  switch (m.t) {
    case 'faults':
      faultMirror = m.rules.map((r) => ({ method: r.method, regex: r.path_regex ? new RegExp(r.path_regex) : null }));
      break;
    case 'modes':
      setModes(m.modes);
      break;
    case 'stats':
      value = { ...stats, sseAt };
      break;
    case 'stats-reset':
      stats = emptyStats();
      sseAt = {};
      break;
    case 'release':
      value = localRelease();
      break;
    case 'inflight':
      value = localInflight();
      break;
    default:
      return undefined;
  }
  process.send({ t: 'reply', id: m.id, value });
  return undefined;
}

async function primaryMain() {
  primaryOfWorkers = true;
  await fsp.mkdir(opts.dir, { recursive: true });
  opts.dir = path.resolve(opts.dir);
  const s3rver = new S3rver({
    directory: opts.dir, silent: true, vhostBuckets: false, configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets(); // once, before the workers start
  let stopping = false;
  let port = null;
  const listening = [];
  for (let i = 0; i < opts.workers; i++) {
    const w = cluster.fork();
    w.on('message', (m) => onWorkerMessage(w, m));
    listening.push(new Promise((resolve, reject) => {
      w.once('listening', (address) => { port = address.port; resolve(); });
      w.once('exit', () => reject(new Error('a worker exited before it listened')));
    }));
    workers.push(w);
  }
  const readyFile = path.resolve(opts.readyFile);
  const stop = (signal, code) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${workers.length} workers`);
    try { fs.unlinkSync(readyFile); } catch (err) { /* not written or already gone */ }
    let left = workers.filter((w) => !w.isDead()).length;
    if (left === 0) process.exit(code);
    cluster.on('exit', () => { if (--left === 0) process.exit(code); });
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
      process.exit(code);
    }, 3000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    process.stderr.write(`server.js: worker ${w.process.pid} exited (${signal || code}); stopping\n`);
    stop('worker exit', 1);
  });
  await Promise.all(listening);
  const tmp = `${readyFile}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, JSON.stringify({ port, pid: process.pid }) + '\n');
  await fsp.rename(tmp, readyFile);
  log(`${opts.workers} workers listening on ${opts.host}:${port}, data in ${opts.dir}`);
}

/* ------------------------------------------------------------------------------------------ */
/* Server                                                                                     */
/* ------------------------------------------------------------------------------------------ */

function log(line) {
  if (opts.verbose) process.stderr.write(`[s3server] ${line}\n`);
}

async function main() {
  await fsp.mkdir(opts.dir, { recursive: true });
  opts.dir = path.resolve(opts.dir);
  if (cluster.isWorker) {
    // One of --workers N: the primary made the buckets, writes the ready file, holds the
    // shared state; this process goes when the primary does.
    workerMode = true;
    opts.buckets = [];
    process.on('message', onPrimaryMessage);
    process.on('disconnect', () => process.exit(0));
  }

  // The given key pair is the only one accepted (s3rver always knows S3RVER/S3RVER).
  const account = AWSAccount.DUMMY_ACCOUNT;
  for (const id of [...account.accessKeys.keys()]) account.revokeAccessKey(id);
  account.createKeyPair(opts.accessKey, opts.secretKey);

  const s3rver = new S3rver({
    directory: opts.dir,
    silent: true, // s3rver's own logger writes to stdout; requests are logged here (--verbose)
    vhostBuckets: false, // path-style only: a Host of any name is not taken as a bucket
    configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  await s3rver.configureBuckets(); // creates the buckets; idempotent
  // Insert the wrapper's middleware just before s3rver's router (its last middleware).
  s3rver.middleware.splice(s3rver.middleware.length - 1, 0, wrapperMiddleware);
  const koaHandler = s3rver.callback();
  s3store = s3rver.store;

  const handle = (req, res, expectContinue) => {
    const started = Date.now();
    const [rawPath, rawQuery] = splitUrl(req.url);
    if (rawPath === '/__control' || rawPath.startsWith('/__control/')) {
      if (expectContinue) res.writeContinue();
      handleControl(req, res, rawPath, rawQuery);
      return;
    }
    const info = classify(req.method, req.url, req.headers);
    res.setHeader('x-amz-request-id', requestId());
    req[REQ_INFO] = info;
    // For the canonical request (see getStringToSign). Not enumerable: s3rver copies headers
    // with lodash, which would trip over an enumerable symbol key.
    Object.defineProperty(req.headers, RAW_URL, { value: req.url });
    stats.requests++;
    bump(stats.byMethod, req.method);
    bump(stats.byOperation, info.op);
    bump(inFlight, info.op);
    stats.maxInFlight[info.op] = Math.max(stats.maxInFlight[info.op] || 0, inFlight[info.op]);
    // Out of flight once: when the response closes or finishes, or its connection closes
    // (under load a response cut by a fault, or whose client vanished, could miss its 'close'
    // and stay counted for ever, so that a test's settle never saw 0).
    let inFlightNow = true;
    const landed = () => {
      if (!inFlightNow) return;
      inFlightNow = false;
      inFlight[info.op]--;
      req.socket.removeListener('close', landed); // (keep-alive: one socket, many requests)
    };
    res.once('close', landed);
    res.once('finish', landed);
    req.socket.once('close', landed);
    if (info.op === 'PutObject' || info.op === 'CreateMultipartUpload') {
      const sse = req.headers['x-amz-server-side-encryption'];
      const kms = req.headers['x-amz-server-side-encryption-aws-kms-key-id'];
      stats.sse[rawPath] = sse ? (kms ? `${sse} ${kms}` : sse) : 'none';
      if (workerMode) sseAt[rawPath] = Number(process.hrtime.bigint());
    }

    // The rest, once the fault rule (or none) for this request is known.
    const decide = (rule) => {
    if (rule) {
      stats.faults.total++;
      bump(stats.faults.byAction, rule.action);
    }
    // Count the status as its header is written (Node's implicit headers go through
    // writeHead too); a 'finish' event may come after the client has gone and asked again.
    const writeHead = res.writeHead;
    res.writeHead = function countedWriteHead(statusCode, ...rest) {
      res.writeHead = writeHead;
      bump(stats.byStatus, String(statusCode));
      return writeHead.call(this, statusCode, ...rest);
    };
    if (opts.verbose) res.on('close', () => log(`${req.method} ${req.url} ${info.op} -> ${res.writableFinished ? res.statusCode : 'closed'} ${Date.now() - started}ms${rule ? ` [fault ${rule.action}]` : ''}`));

    const proceed = () => {
      if (expectContinue) res.writeContinue();
      let answered = false;
      try {
        answered = fastObject(req, res, info);
      } catch (err) {
        answered = res.headersSent;
        if (answered) res.destroy();
      }
      if (!answered) koaHandler(req, res);
    };
    const act = () => {
      if (!rule) {
        const mode = modeAnswer(req, info);
        if (!mode) return proceed();
        return sendS3Error(req, res, 501, mode[0], 'A header you provided implies functionality that is not implemented',
          mode[1] ? { Header: mode[1] } : undefined);
      }
      switch (rule.action) {
        case 'slowdown': return sendS3Error(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
        case '501': return sendS3Error(req, res, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
        case '403': return sendS3Error(req, res, 403, 'AccessDenied', 'Access Denied');
        case 'conflict': return sendS3Error(req, res, 409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
        case '503': return sendS3Error(req, res, 503, 'ServiceUnavailable', 'Service is unable to handle request.');
        case '500': return sendS3Error(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
        case 'reset': {
          const socket = req.socket;
          if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy(); // TCP RST
          else socket.destroy();
          return undefined;
        }
        case 'truncate':
          truncateResponse(res, rule);
          return proceed();
        default: // delay
          return proceed();
      }
    };
    if (rule && rule.delay_ms > 0) {
      // A client that went away during the delay (killed, timed out) gets nothing done: a
      // request is not carried out long after its client stopped waiting for it. The server
      // sees that only if it has read the client's FIN: behind a body it has not read yet
      // (the socket is paused), it cannot, and the request goes ahead when the delay ends.
      // POST /__control/release ends every delay at once, so that a test can settle such
      // requests before it goes on.
      let gone = false;
      const onClose = () => { gone = true; };
      req.socket.once('close', onClose);
      const fire = () => {
        clearTimeout(timer);
        delayed.delete(fire);
        req.socket.removeListener('close', onClose);
        if (gone) {
          log(`${req.method} ${req.url}: the client left during the delay; dropped`);
          return undefined;
        }
        return act();
      };
      const timer = setTimeout(fire, rule.delay_ms);
      delayed.add(fire);
    } else act();
    };

    if (!workerMode) return decide(takeFault(req));
    if (!mayFault(req)) return decide(null);
    // A pending rule may match: the primary, which counts the rules' uses, decides.
    return askPrimary({ t: 'take', method: req.method, url: req.url }).then(decide, () => decide(null));
  };

  const server = http.createServer((req, res) => handle(req, res, false));
  // Expect: 100-continue: decide (fault or not) before asking the client for the body.
  server.on('checkContinue', (req, res) => handle(req, res, true));
  server.keepAliveTimeout = 30000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address();

  // Ready file, written atomically (with --workers, by the primary once all listen).
  const readyFile = path.resolve(opts.readyFile);
  if (!workerMode) {
    const tmp = `${readyFile}.tmp-${process.pid}`;
    await fsp.writeFile(tmp, JSON.stringify({ port, pid: process.pid }) + '\n');
    await fsp.rename(tmp, readyFile);
    log(`listening on ${opts.host}:${port}, data in ${opts.dir}`);
  }

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    if (!workerMode) try { fs.unlinkSync(readyFile); } catch (err) { /* already gone */ }
    server.close(() => process.exit(0));
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

(cluster.isPrimary && opts.workers > 1 ? primaryMain() : main()).catch((err) => {
  process.stderr.write(`server.js: ${err.stack || err}\n`);
  process.exit(1);
});
