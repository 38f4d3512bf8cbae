import { describe, expect, it } from 'vitest';
import { fnv1a32, shardOf, shardsOwned, Topics } from '../../protocol/topics.ts';

describe('topics', () => {
  it('fnv1a32 matches the published FNV-1a test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('shards a gateway id the same way in every process', () => {
    expect(shardOf('gw-saihan-01', 16)).toBe(fnv1a32('gw-saihan-01') % 16);
    const t = new Topics();
    expect(t.up('gw-saihan-01')).toBe(`env/v1/up/${shardOf('gw-saihan-01')}/gw-saihan-01`);
    expect(t.upGateway(t.up('gw-saihan-01'))).toBe('gw-saihan-01');
    expect(t.upGateway('env/v1/ack/gw-1')).toBeNull();
    expect(t.upGateway('other/up/1/gw')).toBeNull();
  });

  it('splits shards among workers so that each shard has exactly one owner', () => {
    const owned = [0, 1, 2].flatMap((i) => shardsOwned(i, 3, 16));
    expect(owned.sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
    expect(shardsOwned(1, 3, 16)).toEqual([1, 4, 7, 10, 13]);
    expect(() => shardsOwned(3, 3)).toThrow(/outside 0..2/);
  });

  it('builds every topic of docs/protocol.md §2 under a configurable prefix', () => {
    const t = new Topics('city/v1', 4);
    expect(t.ack('g')).toBe('city/v1/ack/g');
    expect(t.status('g')).toBe('city/v1/status/g');
    expect(t.live('air.micro', 'aq-1')).toBe('city/v1/live/air.micro/aq-1');
    expect(t.alert('aq-1')).toBe('city/v1/alert/aq-1');
    expect(t.dlq('g')).toBe('city/v1/dlq/g');
    expect(t.upShard(3)).toBe('city/v1/up/3/+');
  });
});
