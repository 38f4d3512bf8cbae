// Who may publish and subscribe to what (docs/protocol.md §2.4). A gateway publishes only its own up/*/{gw}
// and status/{gw} (never retained on up/) and reads only its own ack/{gw}; ingest moves data; an operator
// only reads.
import { shardOf } from '../protocol/topics.ts';
import type { Role } from './users.ts';

export interface Principal {
  username: string;
  role: Role;
}

/** Splits `topic` under `prefix` into levels, or null when it is outside the prefix. */
function levels(prefix: string, topic: string): string[] | null {
  return topic.startsWith(prefix + '/') ? topic.slice(prefix.length + 1).split('/') : null;
}

export function canPublish(who: Principal, prefix: string, topic: string, shards: number): boolean {
  if (who.role === 'admin') return true;
  const l = levels(prefix, topic);
  if (!l) return false;
  switch (who.role) {
    case 'gateway':
      // The shard level must be the gateway's own shard, or no ingest worker would read it.
      return (
        (l[0] === 'up' && l.length === 3 && l[2] === who.username && l[1] === String(shardOf(who.username, shards))) ||
        (l[0] === 'status' && l.length === 2 && l[1] === who.username)
      );
    case 'ingest':
      return ['ack', 'live', 'alert', 'dlq'].includes(l[0]!) || (l[0] === 'sys' && l[1] === 'ingest');
    case 'operator':
      return false;
  }
}

export function canSubscribe(who: Principal, prefix: string, filter: string): boolean {
  if (who.role === 'admin' || who.role === 'operator') return true;
  const l = levels(prefix, filter);
  if (!l) return false;
  switch (who.role) {
    case 'gateway':
      return l[0] === 'ack' && l.length === 2 && l[1] === who.username;
    case 'ingest':
      return ['up', 'ack', 'alert', 'live', 'sys'].includes(l[0]!);
  }
}

/**
 * Whether `who` may publish `topic` retained. A retained envelope would be kept (up to 1 MiB per gateway)
 * and replayed to every new subscriber of up/; envelopes are for one reader, once.
 */
export function mayRetain(who: Principal, prefix: string, topic: string): boolean {
  return who.role !== 'gateway' || levels(prefix, topic)?.[0] !== 'up';
}
