// TLS material read from files, the same way in every process that listens or connects with TLS. The
// files belong to the operator's PKI: a renewed certificate is picked up by reading them again (SIGHUP)
// without a restart, and a pair that does not load is an error naming the file.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';

export interface TlsFiles {
  /** PEM certificate (chain) presented to peers. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /** PEM CA certificate(s): peers' certificates are checked against it. */
  ca?: string;
}

/** Reads the files; `what` (an option or config key) prefixes every error. Checks that key and certificate match. */
export function readTls(files: TlsFiles, what: string): SecureContextOptions {
  const read = (file: string, name: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`${what}: cannot read the ${name} ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
  };
  const opts: SecureContextOptions = {
    cert: read(files.cert, 'certificate'),
    key: read(files.key, 'key'),
    ...(files.ca ? { ca: read(files.ca, 'CA certificate') } : {}),
  };
  try {
    createSecureContext(opts);
  } catch (e) {
    throw new Error(`${what}: ${files.cert} and ${files.key} do not load (${(e as Error).message})`);
  }
  return opts;
}

/** Who a TLS peer is by its certificate: the CN of one the CA verified, or why it was not accepted. */
export type PeerIdentity = { cn: string } | { error: string };

/** The peer's identity, or undefined when it presented no certificate. */
export function peerIdentity(socket: TLSSocket): PeerIdentity | undefined {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) return { error: String(socket.authorizationError ?? 'not verified') };
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (typeof cn !== 'string' || cn === '') return { error: 'the certificate has no single CN' };
  return { cn };
}

/** The URL scheme of a listener: `plain` or `secure` by whether it serves TLS. */
export const scheme = (tls: boolean, plain: 'http' | 'ws' | 'mqtt'): string => (tls ? `${plain}s` : plain);
