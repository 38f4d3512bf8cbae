// The ACL contract (tests/helpers/acl-contract.ts) against our broker and against Mosquitto 2.0 run with
// the files of `broker export --mosquitto`: the same logins and topic rights on both.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../broker/server.ts';
import { aclContract } from '../helpers/acl-contract.ts';
import { Mosquitto } from '../helpers/mosquitto.ts';
import { makeUsers } from '../helpers/pipeline.ts';

let broker: Broker;
aclContract(
  'our broker',
  async () => {
    broker = await new Broker({ port: 0, users: await makeUsers(['gw-a', 'gw-b']) }).start();
    return { url: () => `mqtt://127.0.0.1:${broker.port}` };
  },
  () => broker.stop(),
);

const dir = mkdtempSync(join(tmpdir(), 'qingcheng-mosquitto-'));
let mosquitto: Mosquitto;
aclContract(
  'Mosquitto',
  async () => {
    mosquitto = await new Mosquitto(dir, await makeUsers(['gw-a', 'gw-b'])).start();
    return { url: () => mosquitto.url };
  },
  async () => {
    await mosquitto.stop();
    rmSync(dir, { recursive: true, force: true });
  },
);
