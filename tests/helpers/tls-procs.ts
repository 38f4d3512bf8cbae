// Waiting on what a child qingcheng process logs, where what it logs is itself under test (a refusal
// explained, the start-up line), and talking TLS to it with a test CA. Ports come from --ready-file
// (tests/helpers/ready-file.ts), never from the log.
import https from 'node:https';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Proc } from './pipeline.ts';

/** The first JSON log line of `proc` whose msg is `msg`, once it is written (or what the process said by then). */
export function logLine(proc: Proc, msg: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return outputOf(proc, `log line "${msg}"`, timeoutMs, () => {
    for (const line of proc.output.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o.msg === msg) return o;
      } catch {
        /* a line still being written */
      }
    }
    return undefined;
  });
}

/**
 * Waits until `proc` has written `text`: a refusal reaches the client before the log line that
 * explains it reaches us through the pipe.
 */
export function written(proc: Proc, text: string, timeoutMs = 10_000): Promise<true> {
  return outputOf(proc, JSON.stringify(text), timeoutMs, () => proc.output.includes(text) || undefined);
}

function outputOf<T>(proc: Proc, what: string, timeoutMs: number, find: () => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const o = find();
      if (!o) return;
      done();
      resolve(o);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${proc.name} did not write ${what} within ${timeoutMs} ms:\n${proc.output.slice(-3000)}`));
    }, timeoutMs);
    const exited = () => {
      done();
      reject(new Error(`${proc.name} exited before writing ${what}:\n${proc.output.slice(-3000)}`));
    };
    const done = () => {
      clearTimeout(timer);
      proc.child.stdout!.off('data', later);
      proc.child.stderr!.off('data', later);
      proc.child.off('exit', exited);
    };
    // Proc's own listener appends to output first (it was added first), so output is whole here.
    const later = () => check();
    proc.child.stdout!.on('data', later);
    proc.child.stderr!.on('data', later);
    proc.child.once('exit', exited);
    check();
  });
}

/** Connects once: the client, or the reason it was refused (an Error). */
export function connectMqtt(url: string, opts: IClientOptions, clients: MqttClient[]): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 4, ...opts });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** POSTs JSON over HTTPS trusting `ca`: the status and the parsed answer. */
export function postJson(
  url: string,
  body: unknown,
  ca: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { error?: string; accepted?: number } }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.end(JSON.stringify(body));
  });
}

/** GETs JSON over HTTPS trusting `ca`. */
export function getJson(url: string, ca: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      })
      .on('error', reject);
  });
}
