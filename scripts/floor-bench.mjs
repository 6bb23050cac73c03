// The floor of replica-lab's process design, for issue 12's comparison with PostgreSQL:
// three Node processes (a leader and two followers) and a client process, talking over Unix
// domain sockets with length-prefixed JSON frames batched per event-loop turn, each node
// appending to its own file and fdatasync-ing it, one round at a time (group commit). No Raft,
// no SQLite, no validation, no telemetry.
//
// - `quorum` (the default): client -> leader -> (its own fdatasync || both followers' write + fdatasync) -> the
//   leader's flush and the first follower's ack -> reply: the shape of a quorum/flushed write.
// - `async`: the leader answers once its own fdatasync is done and waits for no follower (they
//   still get every entry, write and fsync it, and ack): the shape of an async/flushed write.
// - `pool` (the default): each fdatasync runs on libuv's thread pool, as replica-lab's do.
//   `main`: on the event loop's thread, at the end of the turn, covering what the turn wrote.
//
// Its figures are what replica-lab's own cannot beat on this machine, and its CPU per write says
// how much of replica-lab's is the rest.
//
//   node scripts/floor-bench.mjs [clients,...] [seconds] [quorum|async] [pool|main]   e.g. node scripts/floor-bench.mjs 1,4,64 5 async
//
// No TCP or UDP port: the sockets live in a private temp dir, removed at the end; every process
// it starts is killed before it moves on.
import { fork } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [role, dir, arg, syncOn] = process.argv.slice(2);
const sock = (name) => path.join(dir, `${name}.sock`);
function framed(socket, onFrame) {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) { const n = buf.readUInt32BE(0); if (buf.length < 4 + n) break; const body = buf.subarray(4, 4 + n); buf = buf.subarray(4 + n); onFrame(JSON.parse(body.toString('utf8'))); }
  });
}
function sender(socket) {
  let out = []; let queued = false;
  return (msg) => { out.push(msg); if (!queued) { queued = true; setImmediate(() => { queued = false; const body = Buffer.from(JSON.stringify(out.length === 1 ? out[0] : { batch: out })); out = []; const h = Buffer.alloc(4); h.writeUInt32BE(body.length); socket.write(Buffer.concat([h, body])); }); } };
}
const each = (m, f) => (m.batch ? m.batch.forEach(f) : f(m));
function wal(file) {
  const fd = fs.openSync(file, 'w'); let flushing = false, again = false, written = 0, durable = 0; const waiters = [];
  const done = (upto) => { durable = upto; flushing = false; for (const w of waiters.splice(0)) w(durable); if (again) { again = false; flush(); } };
  // On the pool (replica-lab's way) the event loop runs on during the fdatasync; on the main thread it blocks, and the
  // round takes everything written up to the turn's end.
  const flush = syncOn === 'main'
    ? () => { flushing = true; setImmediate(() => { const upto = written; again = false; fs.fdatasyncSync(fd); done(upto); }); }
    : () => { flushing = true; const upto = written; fs.fdatasync(fd, () => done(upto)); };
  return { append(index, text) { fs.writeSync(fd, `${index} ${text}\n`); written = index; if (flushing) again = true; else flush(); }, onDurable(f) { waiters.push(f); }, get durable() { return durable; } };
}
if (role === 'follower') {
  const w = wal(path.join(dir, `${arg}.wal`));
  net.createServer((s) => { const send = sender(s); framed(s, (m) => each(m, (e) => { w.append(e.i, e.sql); w.onDurable((d) => send({ ack: d })); })); }).listen(sock(arg), () => process.send('ready'));
} else if (role === 'leader') {
  const w = wal(path.join(dir, 'n1.wal')); let next = 0, best = 0; const pending = new Map(); const async = arg === 'async';
  const release = () => { const upto = async ? w.durable : Math.min(w.durable, best); for (const [i, p] of pending) { if (i > upto) break; pending.delete(i); p(); } };
  const followers = ['n2', 'n3'].map((id) => { const s = net.connect(sock(id)); framed(s, (m) => each(m, (a) => { if (a.ack > best) { best = a.ack; release(); } })); return sender(s); });
  net.createServer((s) => { const send = sender(s); framed(s, (m) => each(m, (r) => { const i = ++next; w.append(i, r.sql); for (const f of followers) f({ i, sql: r.sql }); w.onDurable(() => release()); pending.set(i, () => send({ id: r.id, ok: i })); })); }).listen(sock('n1'), () => process.send('ready'));
} else if (role === 'client') {
  const [clients, seconds] = arg.split(',').map(Number); const s = net.connect(sock('n1')); const send = sender(s); let done = 0, id = 0; const lat = []; const sent = new Map(); let measuring = false;
  const go = () => { const k = ++id; sent.set(k, performance.now()); send({ id: k, sql: `INSERT INTO kv (k, v) VALUES ('k${k % 1000}', 'v${k}')` }); };
  framed(s, (m) => each(m, (r) => { if (measuring) { done++; lat.push(performance.now() - sent.get(r.id)); } sent.delete(r.id); go(); }));
  s.on('connect', () => { for (let c = 0; c < clients; c++) go(); setTimeout(() => { measuring = true; setTimeout(() => { lat.sort((a, b) => a - b); process.send({ writes: done / seconds, p50: lat[Math.floor(lat.length / 2)] }); process.exit(0); }, seconds * 1000); }, 1000); });
} else {
  const clientsList = (process.argv[2] ?? '1,4,64').split(',').map(Number); const seconds = Number(process.argv[3] ?? 5); const mode = process.argv[4] ?? 'quorum'; const fsyncOn = process.argv[5] ?? 'pool';
  if (clientsList.some((c) => !Number.isInteger(c) || c < 1 || c > 256) || !(seconds >= 1 && seconds <= 600) || !['quorum', 'async'].includes(mode) || !['pool', 'main'].includes(fsyncOn)) {
    console.error('usage: node scripts/floor-bench.mjs [clients,... each 1-256] [seconds 1-600] [quorum|async] [pool|main]');
    process.exit(2);
  }
  for (const clients of clientsList) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'floor-')); const kids = [];
    const start = (r, a) => new Promise((res) => { const k = fork(new URL(import.meta.url).pathname, [r, d, a, fsyncOn]); kids.push(k); k.once('message', res); });
    await start('follower', 'n2'); await start('follower', 'n3'); await start('leader', mode);
    const running = start('client', `${clients},${seconds}`);
    await new Promise((res) => setTimeout(res, 1000));
    const before = kids.slice(0, 3).map((k) => { const f = fs.readFileSync(`/proc/${k.pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); });
    const result = await running;
    console.log(`floor ${mode}/flushed fdatasync=${fsyncOn} clients=${clients} writes/s=${Math.round(result.writes)} p50_ms=${result.p50.toFixed(3)}`);
    // utime + stime in clock ticks (100 a second on Linux), over the measured seconds only.
    const ticks = () => kids.slice(0, 3).map((k) => { const f = fs.readFileSync(`/proc/${k.pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); });
    const cpu = ticks().map((t, i) => t - before[i]);
    console.log(`  CPU µs per write: n1 ${(cpu[2] * 1e4 / (result.writes * seconds)).toFixed(0)}, n2 ${(cpu[0] * 1e4 / (result.writes * seconds)).toFixed(0)}, n3 ${(cpu[1] * 1e4 / (result.writes * seconds)).toFixed(0)}`);
    for (const k of kids) k.kill('SIGKILL'); fs.rmSync(d, { recursive: true, force: true });
  }
}
