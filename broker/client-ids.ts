// Client ids belong to users (docs/protocol.md §2.3). A broker ends the session of whoever holds an id when
// another client connects with it, so an id must not be usable by someone else: a login that could pick
// any id could kick a gateway (firing its will) or wipe ingest's queued messages with a clean session.
//
//   - user U owns the id U and every id U-…, unless a longer user name owns it (gw-a-2 is not gw-a's);
//   - a gateway must use exactly its own name;
//   - any other login may use an id it owns; an id another user owns is refused;
//   - an id nobody owns (MQTT.js picks mqttjs_…) is filed under the login, as U:id, and `*:id` for
//     anonymous clients. User names have no ':', so filed ids never meet each other or an owned id.
import type { Principal } from './acl.ts';

export type SessionId = { id: string } | { refused: string };

/** The filing prefix of anonymous clients: no user name can be `*`. */
export const ANONYMOUS = '*';

/** The user who owns `id`: the longest user name it equals or starts with before a '-'. */
export function ownerOf(id: string, isUser: (name: string) => boolean): string | undefined {
  if (id.includes(':')) return undefined; // filed ids, and names no user can have
  if (isUser(id)) return id;
  for (let i = id.lastIndexOf('-'); i > 0; i = id.lastIndexOf('-', i - 1)) {
    const name = id.slice(0, i);
    if (isUser(name)) return name;
  }
  return undefined;
}

/** The id the broker keeps `who`'s session under when it asks for `requested`, or why not. */
export function sessionId(who: Principal, requested: string, isUser: (name: string) => boolean): SessionId {
  if (who.role === 'gateway')
    return requested === who.username
      ? { id: requested }
      : { refused: `gateway ${who.username} must connect with client id ${who.username}, not ${requested}` };
  const owner = ownerOf(requested, isUser);
  if (owner === undefined) return { id: `${who.username || ANONYMOUS}:${requested}` };
  if (owner === who.username) return { id: requested };
  return { refused: `client id ${requested} belongs to user ${owner}` };
}
