// How an MQTT client of ours waits before it tries a lost broker again (docs/protocol.md §2.3): the real
// gateway's uplink and the load generator's gateways use the same function, so a bench of a broker
// restart measures the storm real gateways would make.

/**
 * The wait before reconnect attempt n + 1 (n = attempts failed since the last success): 1 s doubling to
 * 30 s, each drawn from its upper half, so gateways that lost a broker together come back spread out.
 */
export function reconnectDelay(failed: number, random = Math.random): number {
  const cap = Math.min(30_000, 1000 * 2 ** Math.min(failed, 5));
  return Math.round(cap / 2 + (cap / 2) * random());
}
