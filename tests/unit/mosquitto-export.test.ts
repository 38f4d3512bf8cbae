// The Mosquitto export (broker/mosquitto.ts): the `$7$` hash as mosquitto_passwd 2.0 writes it, and the
// role ACL as Mosquitto ACL lines. tests/integration/security-mosquitto.test.ts runs the files in Mosquitto.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aclLines, mosquittoExport } from '../../broker/mosquitto.ts';
import { MOSQUITTO_ITERATIONS, mosquittoHash, verifyMosquittoHash, type User } from '../../broker/users.ts';
import { shardOf } from '../../protocol/topics.ts';

describe('Mosquitto password hash', () => {
  it('has the shape mosquitto_passwd 2.0 writes, and checks against its own hash', async () => {
    const h = await mosquittoHash('s3cret');
    expect(h).toMatch(new RegExp(`^\\$7\\$${MOSQUITTO_ITERATIONS}\\$[A-Za-z0-9+/]{16}\\$[A-Za-z0-9+/]{86}==$`));
    expect(await verifyMosquittoHash('s3cret', h)).toBe(true);
    expect(await verifyMosquittoHash('s3creT', h)).toBe(false);
  });

  it('reads a hash made by the real mosquitto_passwd, so both compute the same function', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qingcheng-passwd-'));
    try {
      execFileSync('mosquitto_passwd', ['-c', '-b', join(dir, 'p'), 'alice', 'pässwörd 1']);
      const stored = readFileSync(join(dir, 'p'), 'utf8').trim().split(':')[1]!;
      expect(stored.startsWith('$7$')).toBe(true);
      expect(await verifyMosquittoHash('pässwörd 1', stored)).toBe(true);
      expect(await verifyMosquittoHash('password 1', stored)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Mosquitto ACL', () => {
  it("gives a gateway exactly its own shard's up/ topic, its status/ and its ack/", () => {
    for (const shards of [1, 16, 1024])
      expect(aclLines({ username: 'gw-saihan-01', role: 'gateway' }, 'env/v1', shards)).toEqual([
        `topic write env/v1/up/${shardOf('gw-saihan-01', shards)}/gw-saihan-01`,
        'topic write env/v1/status/gw-saihan-01',
        'topic read env/v1/ack/gw-saihan-01',
      ]);
    // docs/protocol.md §2.2's worked example.
    expect(aclLines({ username: 'gw-sim-01', role: 'gateway' }, 'city/x', 16)[0]).toBe(
      'topic write city/x/up/7/gw-sim-01',
    );
  });

  it('lets an operator only read, and gives ingest no write on up/', () => {
    expect(aclLines({ username: 'op', role: 'operator' }, 'env/v1', 16)).toEqual(['topic read #']);
    const ingest = aclLines({ username: 'ingest', role: 'ingest' }, 'env/v1', 16);
    expect(ingest).toContain('topic read env/v1/up/#');
    expect(ingest.filter((l) => l.includes('/up/') && !l.startsWith('topic read '))).toEqual([]);
  });

  it('leaves out users without a Mosquitto hash and names them', () => {
    const users: User[] = [
      { username: 'gw-a', role: 'gateway', password: 'x', mosquitto: '$7$101$h' },
      { username: 'old', role: 'operator', password: 'x' },
    ];
    const e = mosquittoExport(users, {
      prefix: 'env/v1',
      shards: 16,
      dir: '/etc/qc',
      host: '0.0.0.0',
      port: 1883,
      persistenceDir: '/var/lib/qc',
    });
    expect(e.passwd).toBe('gw-a:$7$101$h\n');
    expect(e.acl).toContain('user gw-a\n');
    expect(e.acl).not.toContain('user old');
    expect(e.missing.map((u) => u.username)).toEqual(['old']);
    for (const line of [
      'listener 1883 0.0.0.0',
      'allow_anonymous false',
      'password_file /etc/qc/passwd',
      'acl_file /etc/qc/acl',
      'persistence_location /var/lib/qc/',
      'max_packet_size 16777216',
    ])
      expect(e.conf.split('\n')).toContain(line);
  });
});
