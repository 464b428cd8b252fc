#!/usr/bin/env node
/*
 * Server CPU per request of server.js: starts it on a scratch data directory, writes OBJECTS
 * objects of SIZE bytes straight into it (s3rver's layout), then sends signed GetObject and
 * ListObjectsV2 requests over PARALLEL keep-alive connections and prints the server's CPU time
 * (utime + stime of the server and its worker processes, from /proc) per request.
 *
 *   node tests/s3server/load.js [--workers N] [--objects 5000] [--size 10240] [--gets 5000]
 *        [--warmup 200] [--rounds 2] [--lists 20] [--parallel 32] [--server PATH]
 *
 * WARMUP other objects are read first (not measured). Each GET round then reads every object
 * once (round 1: the server has not read them yet; later rounds: the same objects again).
 * S3LOAD_NODE_FLAGS adds node flags to the server's command (e.g. "--cpu-prof
 * --cpu-prof-dir=DIR" to profile it). Loopback only; bounded in count; stops the server.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const args = { workers: 1, warmup: 200, objects: 5000, size: 10240, gets: 5000, rounds: 2, lists: 20, parallel: 32,
  server: path.join(__dirname, 'server.js') };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in args)) { process.stderr.write(`load.js: unknown argument ${process.argv[i]}\n`); process.exit(2); }
  args[k] = k === 'server' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

const ACCESS = 'LOADTESTKEY';
const SECRET = crypto.randomBytes(12).toString('hex');
const REGION = 'us-east-1';
const BUCKET = 'load';
const TICK = 100; // USER_HZ: /proc/PID/stat times are in 1/100 s on Linux

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest();
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

/** SigV4 headers of a bodiless request (path already encoded, query as [[k, v]]). */
function sign(method, rawPath, query, host) {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d+/g, '');
  const day = amzDate.slice(0, 8);
  const payload = sha256('');
  const headers = { host, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const cq = query.map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join('&');
  const creq = [method, rawPath, cq, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), payload].join('\n');
  const scope = `${day}/${REGION}/s3/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(creq)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + SECRET, day), REGION), 's3'), 'aws4_request');
  const sig = crypto.createHmac('sha256', key).update(sts).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  return { headers, target: rawPath + (cq ? '?' + cq : '') };
}

function request(agent, port, method, plainPath, query) {
  const rawPath = plainPath.split('/').map(enc).join('/');
  const { headers, target } = sign(method, rawPath, query, `127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds (user + system) of pid and its descendants, from /proc. */
function treeCpu(pid) {
  let total = 0;
  const walk = (p) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14, 15)
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) kids.split(' ').forEach(walk);
      }
    } catch (err) { /* gone */ }
  };
  walk(pid);
  return total;
}

async function runAll(n, parallel, fn) {
  let next = 0;
  const worker = async () => { while (next < n) await fn(next++); };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3load.'));
  const data = path.join(tmp, 'data');
  const ready = path.join(tmp, 'ready.json');
  const keys = [];
  const body = crypto.randomBytes(args.size);
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  const warm = [];
  for (let i = 0; i < args.objects + args.warmup; i++) {
    const day = String(i % 5).padStart(2, '0');
    const key = i < args.objects ? `raw/day=${day}/part-${String(i).padStart(6, '0')}.avro` : `warm/${i}`;
    const file = path.join(data, BUCKET, `${key}._S3rver_object`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    fs.writeFileSync(`${file}.md5`, md5);
    fs.writeFileSync(path.join(data, BUCKET, `${key}._S3rver_metadata.json`), '{\n  "content-type": "application/octet-stream"\n}');
    (i < args.objects ? keys : warm).push(key);
  }
  const env = { ...process.env };
  const nodeFlags = (process.env.S3LOAD_NODE_FLAGS || '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const child = spawn(process.execPath, [...nodeFlags, args.server, '--dir', data, '--ready-file', ready, '--bucket', BUCKET,
    '--access-key', ACCESS, '--secret-key', SECRET].concat(args.workers !== 1 ? ['--workers', String(args.workers)] : []),
  { stdio: ['ignore', 'inherit', 'inherit'], env });
  let stopped = false;
  const stop = () => { if (!stopped) { stopped = true; child.kill('SIGTERM'); } };
  process.on('exit', () => { stop(); fs.rmSync(tmp, { recursive: true, force: true }); });
  for (let i = 0; i < 300 && !fs.existsSync(ready); i++) await new Promise((r) => setTimeout(r, 100));
  const { port, pid } = JSON.parse(fs.readFileSync(ready, 'utf8'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: args.parallel });
  await new Promise((r) => setTimeout(r, 300)); // let start-up CPU settle
  // Warm-up on other objects: JIT and connections (not measured).
  await runAll(warm.length, args.parallel, (i) => request(agent, port, 'GET', `/${BUCKET}/${warm[i]}`, []));

  const gets = Math.min(args.gets, keys.length);
  for (let round = 1; round <= args.rounds; round++) {
    const before = treeCpu(pid);
    const t0 = process.hrtime.bigint();
    let bad = 0;
    await runAll(gets, args.parallel, async (i) => {
      const r = await request(agent, port, 'GET', `/${BUCKET}/${keys[(i + round * 997) % keys.length]}`, []);
      if (r.status !== 200 || r.body.length !== args.size) { if (!bad) console.log(`GET: ${r.status} ${r.body.toString().slice(0, 300)}`); bad++; }
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = treeCpu(pid) - before;
    console.log(`workers=${args.workers} GET x${gets} (${args.size} B, ${args.parallel} connections) round ${round}: ` +
      `server CPU ${(cpu * 1000 / gets).toFixed(3)} ms/GET, ${(gets / wall).toFixed(0)} GET/s${bad ? `, ${bad} FAILED` : ''}`);
  }
  if (args.lists > 0) {
    const before = treeCpu(pid);
    const t0 = process.hrtime.bigint();
    let pages = 0;
    let listed = 0;
    for (let l = 0; l < args.lists; l++) {
      let token = null;
      do {
        const q = [['list-type', '2'], ['prefix', 'raw/']];
        if (token) q.push(['continuation-token', token]);
        const r = await request(agent, port, 'GET', `/${BUCKET}`, q);
        const text = r.body.toString();
        if (r.status !== 200) throw new Error(`list: ${r.status} ${text}`);
        listed += (text.match(/<Key>/g) || []).length;
        const m = /<NextContinuationToken>([^<]*)</.exec(text);
        token = m ? m[1] : null;
        pages++;
      } while (token);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = treeCpu(pid) - before;
    if (listed !== args.lists * keys.length) console.log(`LIST FAILED: listed ${listed}, want ${args.lists * keys.length}`);
    console.log(`workers=${args.workers} ListObjectsV2 x${pages} pages of <= 1000 (${keys.length} keys, one connection): ` +
      `server CPU ${(cpu * 1000 / pages).toFixed(2)} ms/page, ${(pages / wall).toFixed(1)} pages/s`);
  }
  agent.destroy();
  stop();
  await new Promise((r) => child.once('exit', r));
}

main().catch((err) => { console.error(err); process.exit(1); });
