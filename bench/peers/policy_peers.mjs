// Times peer policy engines on policies equivalent to bench_policy's jitd
// set: policy i lets user u<i> request entitlement ent-<i> for at most one
// hour. The ask is the last policy's user, so a linear engine scans them all.
// Prints one JSON object per line: {engine, policies, p50_ns, p99_ns, n}.
// Usage: node policy_peers.mjs [--sizes 1,100,10000] [--budget-ms 1500]
import { newEnforcer, newModelFromString, StringAdapter } from 'casbin';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const sizes = arg('--sizes', '1,100,10000').split(',').map(Number);
const budgetNs = BigInt(Number(arg('--budget-ms', '1500')) * 1e6);
const kMinSamples = 5;
const kMaxSamples = 200000;

// Calls `fn` until the time budget is spent (at least kMinSamples times) and
// returns the percentiles of the per-call times.
function timeCalls(fn) {
  for (let i = 0; i < 3; i++) fn();  // warm-up: JIT, caches
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < kMaxSamples) {
    const t0 = process.hrtime.bigint();
    fn();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0));
    if (samples.length >= kMinSamples && t1 - start > budgetNs) break;
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50_ns: at(0.5), p99_ns: at(0.99), n: samples.length };
}

function cedarPolicies(n) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    lines.push(`@id("p${i}")
permit (principal == User::"u${i}", action == Action::"request",
        resource == Entitlement::"ent-${i}")
when { context.duration_s >= 1 && context.duration_s <= 3600 };`);
  }
  return lines.join('\n');
}

function cedarCall(n) {
  const last = n - 1;
  return {
    principal: { type: 'User', id: `u${last}` },
    action: { type: 'Action', id: 'request' },
    resource: { type: 'Entitlement', id: `ent-${last}` },
    context: { duration_s: 900 },
    entities: [],
  };
}

function mustAllow(engine, n, allowed) {
  if (!allowed) throw new Error(`${engine} denied the ask at ${n} policies`);
}

function benchCedar(n) {
  const text = cedarPolicies(n);
  const call = { ...cedarCall(n), policies: { staticPolicies: text } };
  const decide = () => {
    const a = cedar.isAuthorized(call);
    return a.type === 'success' && a.response.decision === 'allow';
  };
  mustAllow('cedar-wasm', n, decide());
  const out = [{ engine: 'cedar-wasm', policies: n, ...timeCalls(decide) }];

  const id = `bench-${n}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: text });
  if (parsed.type !== 'success') throw new Error(JSON.stringify(parsed));
  const stateful = { ...cedarCall(n), preparsedPolicySetId: id };
  const decidePre = () => {
    const a = cedar.statefulIsAuthorized(stateful);
    return a.type === 'success' && a.response.decision === 'allow';
  };
  mustAllow('cedar-wasm-preparsed', n, decidePre());
  out.push({ engine: 'cedar-wasm-preparsed', policies: n, ...timeCalls(decidePre) });
  return out;
}

const kCasbinModel = `
[request_definition]
r = sub, obj, act, dur
[policy_definition]
p = sub, obj, act, max
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.sub == p.sub && r.obj == p.obj && r.act == p.act && r.dur >= 1 && r.dur <= 3600
`;

async function benchCasbin(n) {
  const lines = [];
  for (let i = 0; i < n; i++) lines.push(`p, u${i}, ent-${i}, request, 3600`);
  const enforcer = await newEnforcer(newModelFromString(kCasbinModel),
                                     new StringAdapter(lines.join('\n')));
  const last = n - 1;
  const decide = () => enforcer.enforceSync(`u${last}`, `ent-${last}`, 'request', 900);
  mustAllow('casbin', n, decide());
  return { engine: 'casbin', policies: n, ...timeCalls(decide) };
}

for (const n of sizes) {
  for (const row of benchCedar(n)) console.log(JSON.stringify(row));
  console.log(JSON.stringify(await benchCasbin(n)));
}
