#!/usr/bin/env node
// etcd_load.js - the etcd side of bench/compare-etcd.sh: nicraft-bench's
// closed-loop workload against an etcd cluster through the etcd3 client
// (npm, installed by compare-etcd.sh into bench/.etcd-client). N clients,
// each awaiting its previous put before the next; keys are key-size hex
// digits uniform over --keys; values value-size bytes; writes go to the
// leader (found through each endpoint's status). The first --warmup seconds
// are not measured. Prints nicraft-bench's summary line:
//   clients=N ops=... ops_per_s=... p50_us=... p99_us=... p999_us=... max_us=... errors=...
//
//   node etcd_load.js --endpoints http://127.0.0.1:2379,... [--clients 16]
//       [--seconds 15] [--warmup 1] [--key-size 8] [--value-size 256]
//       [--keys 100000] [--conns 8] [--json FILE]
'use strict';

const path = require('path');
const fs = require('fs');

const cache = process.env.ETCD_CLIENT_DIR || path.join(__dirname, '.etcd-client');
const { Etcd3 } = require(path.join(cache, 'node_modules', 'etcd3'));

function parseArgs(argv) {
  const o = { endpoints: '', clients: 16, seconds: 15, warmup: 1, keySize: 8, valueSize: 256,
              keys: 100000, conns: 8, json: '' };
  const num = { '--clients': 'clients', '--seconds': 'seconds', '--warmup': 'warmup',
                '--key-size': 'keySize', '--value-size': 'valueSize', '--keys': 'keys',
                '--conns': 'conns' };
  for (let i = 2; i < argv.length; i += 2) {
    const f = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${f}: a value is missing`);
    if (f === '--endpoints') o.endpoints = v;
    else if (f === '--json') o.json = v;
    else if (num[f]) {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${f} "${v}": want a number >= 0`);
      o[num[f]] = n;
    } else throw new Error(`unknown flag ${f}`);
  }
  if (!o.endpoints) throw new Error('--endpoints is required');
  if (o.clients < 1 || o.keys < 1 || o.seconds <= 0 || o.conns < 1)
    throw new Error('--clients, --keys, --conns and --seconds must be positive');
  if (o.keys - 1 > 16 ** o.keySize - 1)
    throw new Error(`--keys ${o.keys} does not fit keys of ${o.keySize} hex digits`);
  return o;
}

// The endpoint whose member leads (its status names itself as leader).
async function findLeader(endpoints) {
  for (const ep of endpoints) {
    const c = new Etcd3({ hosts: ep });
    try {
      const st = await c.maintenance.status();
      if (st.leader === st.header.member_id) return ep;
    } catch (e) {
      // a member that does not answer is not the leader
    } finally {
      c.close();
    }
  }
  throw new Error(`no member of ${endpoints.join(', ')} says it leads`);
}

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

async function main() {
  const o = parseArgs(process.argv);
  const leader = await findLeader(o.endpoints.split(','));
  const conns = [];
  for (let i = 0; i < Math.min(o.conns, o.clients); i++) conns.push(new Etcd3({ hosts: leader }));
  const value = Buffer.alloc(o.valueSize, 'v');
  const lat = [];
  let errors = 0, firstError = '', warmupOps = 0;
  const t0 = process.hrtime.bigint();
  const measureNs = t0 + BigInt(Math.round(o.warmup * 1e9));
  const endNs = measureNs + BigInt(Math.round(o.seconds * 1e9));
  const perSecond = new Array(Math.ceil(o.seconds)).fill(0);

  async function client(i) {
    const kv = conns[i % conns.length];
    for (;;) {
      const start = process.hrtime.bigint();
      if (start >= endNs) return;
      const key = Math.floor(Math.random() * o.keys).toString(16).padStart(o.keySize, '0');
      try {
        await kv.put(key).value(value);
      } catch (e) {
        if (errors++ === 0) firstError = String(e.message || e);
        continue;
      }
      const now = process.hrtime.bigint();
      if (now < measureNs) warmupOps++;
      else if (now < endNs) {
        lat.push(Number(now - start) / 1000);
        const s = Number((now - measureNs) / 1000000000n);
        if (s < perSecond.length) perSecond[s]++;
      }
    }
  }
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  for (const c of conns) c.close();
  lat.sort((a, b) => a - b);
  const f = (x) => x.toFixed(1);
  const ops = lat.length;
  const line = `clients=${o.clients} ops=${ops} ops_per_s=${Math.round(ops / o.seconds)} ` +
      `p50_us=${f(quantile(lat, 0.5))} p99_us=${f(quantile(lat, 0.99))} ` +
      `p999_us=${f(quantile(lat, 0.999))} max_us=${f(lat.length ? lat[lat.length - 1] : 0)} ` +
      `errors=${errors}`;
  console.log(line);
  if (errors > 0) console.error(`etcd_load: ${errors} puts failed; the first: ${firstError}`);
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify({
      config: { clients: o.clients, key_size: o.keySize, value_size: o.valueSize, keys: o.keys,
                duration_s: o.seconds, warmup_s: o.warmup, target: 'leader', leader, conns: conns.length },
      totals: { ops, errors, warmup_ops: warmupOps, seconds: o.seconds, ops_per_s: ops / o.seconds,
                first_error: firstError },
      latency_us: { count: ops, p50: quantile(lat, 0.5), p90: quantile(lat, 0.9),
                    p99: quantile(lat, 0.99), p999: quantile(lat, 0.999),
                    max: lat.length ? lat[lat.length - 1] : 0 },
      timeline: perSecond.map((n, s) => ({ second: s, ops: n })),
    }, null, 1) + '\n');
  }
}

main().catch((e) => {
  console.error(`etcd_load: ${e.message || e}`);
  process.exit(1);
});
