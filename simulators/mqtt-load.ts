// A load generator that behaves like many gateways: each publishes envelopes of synthetic 10-field
// air records over its own MQTT connection, keeps a window in flight, and follows its ack/{gw}.
import mqtt, { type MqttClient } from 'mqtt';
import type { SampleRecord } from '../protocol/envelope.ts';
import { Topics } from '../protocol/topics.ts';
import { decodeAck, encodeEnvelope } from '../protocol/envelope.ts';

export interface LoadOptions {
  url: string;
  gateway: string;
  password?: string;
  devices: number;
  records: number;
  batch: number;
  window: number;
  /** Sample time of the first record; later ones step 1 s per device. */
  startTs: number;
}

export function syntheticRecord(dev: string, ts: number, i: number): SampleRecord {
  return {
    dev,
    kind: 'air.micro',
    ts,
    m: {
      pm25: 30 + (i % 70),
      pm10: 60 + (i % 90),
      so2: 8 + (i % 9),
      no2: 20 + (i % 30),
      co: 0.4 + (i % 10) / 10,
      o3: 50 + (i % 60),
      temp: -10 + (i % 200) / 10,
      rh: 30 + (i % 50),
      pressure: 88.5 + (i % 10) / 10,
      ws: (i % 80) / 10,
    },
  };
}

export class LoadGateway {
  private client!: MqttClient;
  private topics = new Topics();
  acked = -1;
  private ep = `load${Math.random().toString(36).slice(2, 8)}`;
  private done!: Promise<void>;

  constructor(readonly o: LoadOptions) {}

  async connect(): Promise<void> {
    this.client = mqtt.connect(this.o.url, {
      clientId: this.o.gateway,
      username: this.o.gateway,
      ...(this.o.password ? { password: this.o.password } : {}),
      protocolVersion: 4,
    });
    await new Promise<void>((resolve, reject) => {
      this.client.once('connect', () => resolve());
      this.client.once('error', reject);
    });
    await this.client.subscribeAsync(this.topics.ack(this.o.gateway), { qos: 1 });
  }

  /** Publishes all records; resolves when ingest has acknowledged the last one. */
  run(): Promise<void> {
    const last = this.o.records - 1;
    this.done = new Promise((resolve) => {
      this.client.on('message', (_t, p) => {
        const a = decodeAck(p);
        if (a.ep !== this.ep) return;
        this.acked = Math.max(this.acked, a.seq);
        if (this.acked >= last) resolve();
      });
    });
    let next = 0;
    let inflight = 0;
    const pump = () => {
      while (inflight < this.o.window && next <= last) {
        const n = Math.min(this.o.batch, last + 1 - next);
        const records = Array.from({ length: n }, (_, k) => {
          const i = next + k;
          return syntheticRecord(
            `${this.o.gateway}-aq${i % this.o.devices}`,
            this.o.startTs + Math.floor(i / this.o.devices) * 1000,
            i,
          );
        });
        const env = encodeEnvelope({ v: 1, gw: this.o.gateway, ep: this.ep, seq: next, records });
        next += n;
        inflight++;
        this.client.publish(this.topics.up(this.o.gateway), env, { qos: 1 }, () => {
          inflight--;
          pump();
        });
      }
    };
    pump();
    return this.done;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
