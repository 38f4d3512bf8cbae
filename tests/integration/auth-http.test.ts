// `broker auth-http` (docs/protocol.md §2.7) over real HTTP: EMQX 5's authenticator and authorizer
// requests and VerneMQ's webhooks, answered by the users file and the role ACL of §2.4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthHttp } from '../../broker/auth-http.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser, hashPassword, loadUsers, removeUser } from '../../broker/users.ts';
import { shardOf, Topics } from '../../protocol/topics.ts';
import { makeUsers, PASSWORDS } from '../helpers/pipeline.ts';

const t = new Topics();
let server: AuthHttp;
let slow: AuthHttp;
const post = async (path: string, body: unknown, on = server) => {
  const res = await fetch(`http://127.0.0.1:${on.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  const users = await makeUsers(['gw-a', 'gw-b']);
  server = await new AuthHttp({ users, loginBackoffBaseMs: 20, loginBackoffMaxMs: 20 }).start(0);
  // Logins at scrypt's full cost, one checked at a time.
  const costly = [{ username: 'gw-a', role: 'gateway' as const, password: await hashPassword(PASSWORDS.gateway) }];
  slow = await new AuthHttp({ users: costly, maxPendingLogins: 1, loginBackoffMaxMs: 0 }).start(0);
});
afterAll(async () => {
  await server.stop();
  await slow.stop();
});

const authn = (username: string | undefined, password: string, clientid = username, on = server) =>
  post('/emqx/authn', { username, password, clientid, peerhost: '10.0.0.7' }, on);
const authz = (username: string, action: string, topic: string, extra: Record<string, unknown> = {}) =>
  post('/emqx/authz', { username, clientid: username, topic, action, qos: '1', retain: 'false', ...extra });

describe('EMQX 5 authentication', () => {
  it('allows a right password and denies a wrong one, an unknown user and no user', async () => {
    expect(await authn('gw-a', PASSWORDS.gateway)).toEqual({
      status: 200,
      body: { result: 'allow', is_superuser: false },
    });
    expect((await authn('ingest', PASSWORDS.ingest, 'ingest-0-of-1')).body.result).toBe('allow');
    expect((await authn('gw-a', 'wrong')).body).toEqual({ result: 'deny', is_superuser: false });
    expect((await authn('nobody', 'x')).body.result).toBe('deny');
    expect((await authn(undefined, '')).body.result).toBe('deny');
    expect(server.stats.loginDelays).toBeGreaterThan(0);
  });

  it('answers repeated refusals at once unless a hold is asked for: a stock broker pipelines its requests', async () => {
    const plain = await new AuthHttp({ users: await makeUsers(['gw-a']) }).start(0);
    try {
      for (let i = 0; i < 3; i++) expect((await authn('gw-a', 'wrong', 'gw-a', plain)).body.result).toBe('deny');
      expect(plain.stats).toMatchObject({ denied: 3, loginDelays: 0 });
    } finally {
      await plain.stop();
    }
  });

  it('denies a gateway under another client id, and any login under an id another user owns', async () => {
    expect((await authn('gw-a', PASSWORDS.gateway, 'gw-b')).body.result).toBe('deny');
    expect((await authn('operator', PASSWORDS.operator, 'ingest-0-of-1')).body.result).toBe('deny');
    expect((await authn('operator', PASSWORDS.operator, 'console-1')).body.result).toBe('allow');
  });
});

describe('EMQX 5 authorization', () => {
  it("lets a gateway publish only its own shard's up/ topic and its status/, never retained on up/", async () => {
    expect((await authz('gw-a', 'publish', t.up('gw-a'))).body).toEqual({ result: 'allow' });
    expect((await authz('gw-a', 'publish', t.status('gw-a'), { retain: 'true' })).body.result).toBe('allow');
    const wrongShard = `env/v1/up/${(shardOf('gw-a') + 1) % 16}/gw-a`;
    for (const topic of [t.up('gw-b'), wrongShard, t.status('gw-b'), t.ack('gw-a')])
      expect((await authz('gw-a', 'publish', topic)).body.result, topic).toBe('deny');
    expect((await authz('gw-a', 'publish', t.up('gw-a'), { retain: true })).body.result).toBe('deny');
    // A request naming another client id is not one of the gateway's own sessions.
    expect((await authz('gw-a', 'publish', t.up('gw-a'), { clientid: 'gw-b' })).body.result).toBe('deny');
  });

  it('lets a gateway read only its own ack/', async () => {
    expect((await authz('gw-a', 'subscribe', t.ack('gw-a'))).body.result).toBe('allow');
    for (const filter of [t.ack('gw-b'), 'env/v1/ack/+', 'env/v1/#'])
      expect((await authz('gw-a', 'subscribe', filter)).body.result, filter).toBe('deny');
  });

  it('lets an operator read everything and publish nothing; ingest reads up/ (shared too) and never writes it', async () => {
    expect((await authz('operator', 'subscribe', '#')).body.result).toBe('allow');
    expect((await authz('operator', 'publish', t.status('gw-a'))).body.result).toBe('deny');
    expect((await authz('ingest', 'subscribe', t.upShard(3))).body.result).toBe('allow');
    expect((await authz('ingest', 'subscribe', `$share/ingest/${t.upShard(3)}`)).body.result).toBe('allow');
    expect((await authz('ingest', 'publish', t.up('gw-a'))).body.result).toBe('deny');
    expect((await authz('ingest', 'publish', t.ack('gw-a'), { retain: true })).body.result).toBe('allow');
    expect((await authz('nobody', 'subscribe', '#')).body.result).toBe('deny');
  });
});

describe('VerneMQ webhooks', () => {
  it('answers auth_on_register, auth_on_publish and auth_on_subscribe', async () => {
    const ok = { result: 'ok' };
    const no = { result: { error: 'not_allowed' } };
    const register = (password: string) =>
      post('/vernemq/auth_on_register', {
        peer_addr: '10.0.0.7',
        peer_port: 40000,
        username: 'gw-a',
        password,
        mountpoint: '',
        client_id: 'gw-a',
        clean_session: true,
      });
    expect((await register(PASSWORDS.gateway)).body).toEqual(ok);
    expect((await register('wrong')).body).toEqual(no);
    const publish = (topic: string) =>
      post('/vernemq/auth_on_publish', {
        username: 'gw-a',
        client_id: 'gw-a',
        mountpoint: '',
        qos: 1,
        topic,
        payload: Buffer.from('{}').toString('base64'),
        retain: false,
      });
    expect((await publish(t.up('gw-a'))).body).toEqual(ok);
    expect((await publish(t.up('gw-b'))).body).toEqual(no);
    const subscribe = (...topics: string[]) =>
      post('/vernemq/auth_on_subscribe', {
        username: 'gw-a',
        client_id: 'gw-a',
        mountpoint: '',
        topics: topics.map((topic) => ({ topic, qos: 1 })),
      });
    expect((await subscribe(t.ack('gw-a'))).body).toEqual(ok);
    expect((await subscribe(t.ack('gw-a'), t.ack('gw-b'))).body).toEqual(no);
  });
});

describe('bad requests', () => {
  it('answers 400 naming what is wrong, 413 past the body limit, 404 and 405 elsewhere', async () => {
    expect(await post('/emqx/authn', '{"username":')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^body is not JSON/) },
    });
    expect(await post('/emqx/authn', '[1]')).toEqual({ status: 400, body: { error: 'body: expected a JSON object' } });
    expect((await post('/emqx/authn', { username: 7 })).body.error).toBe('username: expected a string, got 7');
    // A number-only password sent unquoted (an EMQX body template without quotes) is not echoed back.
    const unquoted = await post('/emqx/authn', { username: 'gw-a', password: 123456 });
    expect(unquoted).toEqual({ status: 400, body: { error: 'password: expected a string, got a number' } });
    expect((await post('/emqx/authz', { username: 'gw-a', action: 'publish' })).body.error).toMatch(/^topic: required/);
    expect((await post('/emqx/authz', { username: 'gw-a', action: 'all', topic: 'x' })).status).toBe(400);
    expect((await post('/vernemq/auth_on_subscribe', { username: 'gw-a', topics: [] })).status).toBe(400);
    const big = await post('/emqx/authn', { username: 'gw-a', password: 'x'.repeat(20_000) });
    expect(big).toEqual({ status: 413, body: { error: expect.stringMatching(/over the limit of 16384/) } });
    expect((await post('/emqx/nothing', {})).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/emqx/authn`)).status).toBe(405);
    const health = (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as Record<string, number>;
    expect(health.badRequests).toBeGreaterThanOrEqual(9);
  });
});

describe('password checks', () => {
  it('answers a rush of logins at full scrypt cost: each 200, or 503 past the bound, and counts the 503s', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => authnOn(slow, i % 2 ? PASSWORDS.gateway : `wrong-${i}`)),
    );
    for (const a of answers) expect([200, 503]).toContain(a.status);
    const busy = answers.filter((a) => a.status === 503);
    expect(slow.stats.busy).toBe(busy.length);
    for (const b of busy) expect(b.body.error).toMatch(/^busy: 1 logins are being checked/);
    // After the rush, a right password gets in.
    expect((await authnOn(slow, PASSWORDS.gateway)).body.result).toBe('allow');
  });
});

describe('users file', () => {
  it('takes a removed user out when the users file is read again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qingcheng-auth-http-'));
    const file = join(dir, 'users.yaml');
    await addUser(file, 'gw-a', 'gateway', 'pw-a');
    await addUser(file, 'gw-b', 'gateway', 'pw-b');
    const s = await new AuthHttp({ users: loadUsers(file), usersFile: file }).start(0);
    try {
      const login = async (u: string, pw: string) =>
        (await post('/emqx/authn', { username: u, password: pw, clientid: u }, s)).body.result;
      expect(await login('gw-a', 'pw-a')).toBe('allow');
      removeUser(file, 'gw-a');
      expect(s.reloadUsers()).toBe(true);
      expect(await login('gw-a', 'pw-a')).toBe('deny');
      expect(await login('gw-b', 'pw-b')).toBe('allow');
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function authnOn(on: AuthHttp, password: string) {
  return post('/emqx/authn', { username: 'gw-a', password, clientid: 'gw-a' }, on);
}
