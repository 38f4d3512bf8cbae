// `simulate --hj212-sm4-key … --write-gateway-config`: the written config gives each logger's device
// the key, and the gateway reads it back as the same 16 bytes (a key of digits alone stays a string).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayConfigFor } from '../../cli/simulate.ts';
import { parseGatewayConfig, type Hj212DeviceConfig } from '../../gateway/config.ts';
import { Node } from '../../protocol/config.ts';

describe('simulate writes the loggers’ SM4 keys', () => {
  it.each(['0123456789abcdeffedcba9876543210', '30303030303030303030303030303030'])('key %s', (key) => {
    const yaml = gatewayConfigFor('gw-1', [], {
      hj212: {
        listen: '127.0.0.1:9212',
        devices: [
          { id: 'st-1', kind: 'air.station', mn: '150100A00000000000000BB8', sm4Key: key },
          { id: 'st-2', kind: 'air.station', mn: '150100A00000000000000BB9' },
        ],
      },
    });
    const cfg = parseGatewayConfig(new Node('/nowhere/gw.yaml', '', parse(yaml)));
    const [a, b] = cfg.devices as Hj212DeviceConfig[];
    expect(a!.sm4Key!.bytes.toString('hex')).toBe(key);
    expect(b!.sm4Key).toBeUndefined();
  });
});
