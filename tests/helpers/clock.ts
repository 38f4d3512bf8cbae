// Test runs under Debian's faketime (`npm run test:dates`) fake the clock of this process and of the
// qingcheng processes it starts, which share one world with the in-process simulators. Third-party
// servers keep the real clock: redis-server does not even start under libfaketime, and servers that
// judge a sample's age must judge it as in the field. A process given this environment runs unfaked.
export function realClockEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')) out[k] = v;
  return out;
}

/** True when this process runs under libfaketime. */
export const underFaketime = (process.env.LD_PRELOAD ?? '').includes('faketime');
