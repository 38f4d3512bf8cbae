// A throw-away PKI made with the system's openssl: a CA, a server certificate for 127.0.0.1/localhost and
// client certificates by CN. `openssl ca` sets the validity explicitly (2020 to 2100), so the certificates
// hold at any date a test fakes, whatever clock openssl itself runs with.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CONFIG = `[ ca ]
default_ca = qc
[ qc ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ ca_cert ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_cert ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ client_cert ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;

const VALIDITY = ['-startdate', '20200101000000Z', '-enddate', '21000101000000Z'];

export interface KeyPair {
  cert: string;
  key: string;
}

export class TestPki {
  readonly ca: string;
  readonly caKey: string;
  readonly server: KeyPair;

  /** A CA (CN `caName`) and a server certificate in `dir`. */
  constructor(
    readonly dir: string,
    caName = 'Qingcheng test CA',
  ) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ca.cnf'), CONFIG);
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    this.ca = join(dir, 'ca.pem');
    this.caKey = join(dir, 'ca.key');
    this.request('ca', caName);
    this.openssl('ca', '-selfsign', '-keyfile', this.caKey, '-in', 'ca.csr', '-out', this.ca, '-extensions', 'ca_cert');
    this.server = this.issue('server', 'localhost', 'server_cert');
  }

  /** A client certificate whose CN is `cn` (a gateway id, a user name). */
  client(cn: string): KeyPair {
    return this.issue(`client-${cn}`, cn, 'client_cert');
  }

  private issue(name: string, cn: string, extensions: string): KeyPair {
    this.request(name, cn);
    const cert = join(this.dir, `${name}.pem`);
    this.openssl(
      'ca',
      '-cert',
      this.ca,
      '-keyfile',
      this.caKey,
      '-in',
      `${name}.csr`,
      '-out',
      cert,
      '-extensions',
      extensions,
    );
    return { cert, key: join(this.dir, `${name}.key`) };
  }

  private request(name: string, cn: string): void {
    const args = ['-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`];
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', ...args], {
      cwd: this.dir,
      stdio: 'pipe',
    });
  }

  private openssl(cmd: string, ...args: string[]): void {
    execFileSync('openssl', [cmd, '-batch', '-config', 'ca.cnf', '-notext', ...VALIDITY, ...args], {
      cwd: this.dir,
      stdio: 'pipe',
    });
  }
}
