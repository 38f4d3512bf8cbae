// What one client may cost the broker (docs/protocol.md §2.4): packet sizes before and after login, topic
// and client id lengths, subscriptions, connection attempts per address, and the failed-login back-off.
import { DEFAULT_LIMITS as ENVELOPE } from '../protocol/envelope.ts';
import type { Role } from './users.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface BrokerLimits {
  /** The largest packet before login: the CONNECT, with its will. Bytes, fixed header included. */
  connectPacket: number;
  /** The largest packet after login, per role. */
  packet: Record<Role, number>;
  /** Topics and filters, in UTF-8 bytes. */
  maxTopicLength: number;
  maxClientIdLength: number;
  /** Distinct filters one client may hold (an ingest worker holds its shards and a few more). */
  maxSubscriptions: number;
  /** Connection attempts per address: a bucket of `connectBurst`, refilled at `connectPerSecond`. */
  connectBurst: number;
  connectPerSecond: number;
  /** A refused login is answered after 0, base, 2·base, … up to max; failures are forgotten after window. */
  loginBackoffMs: number;
  loginBackoffMaxMs: number;
  loginBackoffWindowMs: number;
  /** How long a new connection may take to send its CONNECT. */
  connectTimeoutMs: number;
}

const PACKET: Record<Role, number> = {
  // The envelope contract (docs/protocol.md §3.7) plus room for the topic and the packet's own header.
  gateway: ENVELOPE.maxBytes + 4 * KiB,
  // Operators only read: SUBSCRIBE, PUBACK, PINGREQ.
  operator: 4 * KiB,
  // Dead letters carry up to 64 KiB of envelope and a reason per record.
  ingest: 16 * MiB,
  admin: 16 * MiB,
};

export function brokerLimits(shards: number, given: Partial<BrokerLimits> = {}): BrokerLimits {
  return {
    connectPacket: 4 * KiB,
    maxTopicLength: 256,
    maxClientIdLength: 128,
    maxSubscriptions: Math.max(100, shards + 20),
    connectBurst: 100,
    connectPerSecond: 20,
    loginBackoffMs: 250,
    loginBackoffMaxMs: 10_000,
    loginBackoffWindowMs: 15 * 60_000,
    connectTimeoutMs: 10_000,
    ...given,
    packet: { ...PACKET, ...given.packet },
  };
}
