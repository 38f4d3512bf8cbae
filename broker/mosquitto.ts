// The users file and role ACL (docs/protocol.md §2.4) as Mosquitto 2.0 files, for a city that runs
// Mosquitto rather than our broker: a password file, an ACL file and a mosquitto.conf that uses them.
//
// Mosquitto cannot compute a gateway's shard, so each gateway gets its own `user` section naming its one
// exact up/ topic: the ACL is as strict as ours. What it cannot express is listed in docs/protocol.md §2.6.
import { shardOf } from '../protocol/topics.ts';
import { brokerLimits } from './limits.ts';
import type { Role, User } from './users.ts';

export interface MosquittoExport {
  /** `user:$7$…` lines, one per exported user. */
  passwd: string;
  acl: string;
  conf: string;
  /** Users left out for having no Mosquitto hash (set before this hash was stored). */
  missing: User[];
}

export interface MosquittoOptions {
  prefix: string;
  shards: number;
  /** Where the files will live: mosquitto.conf names them by absolute path. */
  dir: string;
  host: string;
  port: number;
  /** Also MQTT over WebSocket (the operator console) on this port, on `host`. */
  wsPort?: number;
  /** Where Mosquitto keeps sessions, queued and retained messages (acknowledgements are retained). */
  persistenceDir: string;
}

/** The ACL lines of one user: `topic read|write|readwrite <filter>`. */
export function aclLines(user: { username: string; role: Role }, prefix: string, shards: number): string[] {
  const p = prefix;
  const gw = user.username;
  switch (user.role) {
    case 'gateway':
      return [
        `topic write ${p}/up/${shardOf(gw, shards)}/${gw}`,
        `topic write ${p}/status/${gw}`,
        `topic read ${p}/ack/${gw}`,
      ];
    case 'ingest':
      return [
        `topic read ${p}/up/#`,
        `topic readwrite ${p}/ack/#`,
        `topic readwrite ${p}/alert/#`,
        `topic readwrite ${p}/live/#`,
        `topic write ${p}/dlq/#`,
        `topic read ${p}/sys/#`,
        `topic write ${p}/sys/ingest/#`,
      ];
    case 'operator':
      return ['topic read #'];
    case 'admin':
      return ['topic readwrite #'];
  }
}

export function mosquittoAcl(users: User[], prefix: string, shards: number): string {
  const head = [
    '# Written by `qingcheng broker export --mosquitto`: the role ACL of docs/protocol.md §2.4.',
    `# prefix ${prefix}, ${shards} shards. A gateway may publish only on its own shard's up/ topic.`,
    '# Anonymous clients (none: allow_anonymous is false) get nothing.',
    '',
  ];
  const sections = users.map((u) =>
    [`# ${u.role}`, `user ${u.username}`, ...aclLines(u, prefix, shards), ''].join('\n'),
  );
  return head.join('\n') + sections.join('\n');
}

export function mosquittoPasswd(users: User[]): string {
  return users.map((u) => `${u.username}:${u.mosquitto}\n`).join('');
}

export function mosquittoConf(o: MosquittoOptions): string {
  const packet = Math.max(...Object.values(brokerLimits(o.shards).packet));
  return [
    '# Written by `qingcheng broker export --mosquitto` for Mosquitto 2.0 (docs/protocol.md §2.6).',
    '# Use it whole (mosquitto -c this file) or copy these lines into your own configuration.',
    '',
    `listener ${o.port} ${o.host}`,
    ...(o.wsPort !== undefined
      ? [
          '# The operator console: MQTT over WebSocket (any path, /mqtt included).',
          `listener ${o.wsPort} ${o.host}`,
          'protocol websockets',
        ]
      : []),
    'allow_anonymous false',
    `password_file ${o.dir}/passwd`,
    `acl_file ${o.dir}/acl`,
    '',
    '# Acknowledgements, gateway status and open alarms are retained, and ingest workers keep persistent',
    '# sessions: keep them across restarts.',
    'persistence true',
    `persistence_location ${o.persistenceDir}/`,
    '',
    "# Our broker's largest packet, that of ingest and admin (dead letters); Mosquitto has one limit for",
    '# every client, where ours holds a gateway to 1 MiB + 4 KiB and an operator to 4 KiB.',
    `max_packet_size ${packet}`,
    '# QoS 1 messages queued for an ingest worker while it is away (the default, 1000, drops the rest).',
    'max_queued_messages 1000000',
    '# Client ids over 128 bytes are refused by our broker; Mosquitto has no such limit. Ours has no',
    '# zero-length ids either.',
    'allow_zero_length_clientid false',
    '',
  ].join('\n');
}

/** The three files for `users`; those without a Mosquitto hash are left out and returned in `missing`. */
export function mosquittoExport(users: User[], o: MosquittoOptions): MosquittoExport {
  const ready = users.filter((u) => u.mosquitto !== undefined);
  return {
    passwd: mosquittoPasswd(ready),
    acl: mosquittoAcl(ready, o.prefix, o.shards),
    conf: mosquittoConf(o),
    missing: users.filter((u) => u.mosquitto === undefined),
  };
}
