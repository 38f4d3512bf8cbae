// A client certificate as a login (docs/protocol.md §2.5): one the broker's CA signed names its user by
// its CN, and that user's role and ACL apply exactly as after a password login. The certificate is the
// credential: a password sent beside it is not checked, but a username that is not the CN is refused, so
// a client cannot act under one name while the log shows another.
import type { Principal } from './acl.ts';
import type { PeerIdentity } from '../protocol/tls.ts';
import type { User } from './users.ts';

export type CertLogin = Principal | { refused: string } | undefined;

/**
 * The login `cert` gives, its refusal, or undefined when a password login should decide (no certificate
 * and none required).
 */
export function certLogin(
  cert: PeerIdentity | undefined,
  username: string | undefined,
  userNamed: (name: string) => User | undefined,
  required: boolean,
): CertLogin {
  if (!cert)
    return required
      ? { refused: 'a client certificate is required (the broker runs with --require-client-cert)' }
      : undefined;
  if ('error' in cert) return { refused: `client certificate not accepted: ${cert.error}` };
  const user = userNamed(cert.cn);
  if (!user) return { refused: `client certificate CN ${cert.cn} is not a user of this broker` };
  if (username !== undefined && username !== cert.cn)
    return { refused: `username ${username} is not the client certificate's CN ${cert.cn}` };
  return { username: user.username, role: user.role };
}
