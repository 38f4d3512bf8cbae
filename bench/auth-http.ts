// What first logins cost `broker auth-http`: N distinct users log in at once through /emqx/authn, each a
// full scrypt check (N = 16384, as `broker user add` hashes), while GET /health is asked every 50 ms: its
// slowest answer shows whether the checks hold up the event loop (client and server share this process,
// so it includes the client's own work). Then the same N again (answered from the verified-password
// cache), and N topic checks. Prints JSON.
//   node bin/run-ts.js bench/auth-http.ts [--users 200]
import { parseArgs } from 'node:util';
import { AuthHttp } from '../broker/auth-http.ts';
import { hashPassword, type User } from '../broker/users.ts';
import { shardOf } from '../protocol/topics.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '200' } } });
const N = Number(values.users);
const users: User[] = await Promise.all(
  Array.from({ length: N }, async (_, i) => ({
    username: `gw-${i}`,
    role: 'gateway' as const,
    password: await hashPassword(`pw-${i}`),
  })),
);
const server = await new AuthHttp({ users }).start(0);
const base = `http://127.0.0.1:${server.port}`;
const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());

/** Runs `what`, asking /health every 50 ms meanwhile; the slowest /health answer, in ms. */
async function timed<T>(what: () => Promise<T>): Promise<{ ms: number; healthMaxMs: number; out: T }> {
  let healthMaxMs = 0;
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${base}/health`).then((r) => r.json());
      healthMaxMs = Math.max(healthMaxMs, performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = performance.now();
  const out = await what();
  const ms = Math.round(performance.now() - t0);
  done = true;
  await probe;
  return { ms, healthMaxMs: Math.round(healthMaxMs), out };
}

const logins = () =>
  Promise.all(
    users.map((u, i) => post('/emqx/authn', { username: u.username, password: `pw-${i}`, clientid: u.username })),
  );
const first = await timed(logins);
const again = await timed(logins);
const topics = await timed(() =>
  Promise.all(
    users.map((u) =>
      post('/emqx/authz', {
        username: u.username,
        clientid: u.username,
        topic: `env/v1/up/${shardOf(u.username)}/${u.username}`,
        action: 'publish',
      }),
    ),
  ),
);
const allowed = (r: unknown[]) => r.filter((x) => (x as { result: string }).result === 'allow').length;
console.log(
  JSON.stringify({
    users: N,
    first_logins: {
      ms: first.ms,
      per_s: Math.round((N * 1000) / first.ms),
      allowed: allowed(first.out),
      health_max_ms: first.healthMaxMs,
    },
    cached_logins: { ms: again.ms, allowed: allowed(again.out), health_max_ms: again.healthMaxMs },
    topic_checks: { ms: topics.ms, allowed: allowed(topics.out), health_max_ms: topics.healthMaxMs },
  }),
);
await server.stop();
