// A client certificate as a broker login (broker/cert-login.ts).
import { describe, expect, it } from 'vitest';
import { certLogin } from '../../broker/cert-login.ts';
import type { User } from '../../broker/users.ts';

const users: User[] = [
  { username: 'gw-a', role: 'gateway', password: 'x' },
  { username: 'operator', role: 'operator', password: 'x' },
];
const named = (n: string) => users.find((u) => u.username === n);

describe('certificate login', () => {
  it("logs a verified certificate in as the user its CN names, with that user's role", () => {
    expect(certLogin({ cn: 'gw-a' }, undefined, named, false)).toEqual({ username: 'gw-a', role: 'gateway' });
    expect(certLogin({ cn: 'gw-a' }, 'gw-a', named, true)).toEqual({ username: 'gw-a', role: 'gateway' });
  });

  it('refuses an unknown CN, an unverified certificate, and a username that is not the CN', () => {
    expect(certLogin({ cn: 'gw-z' }, undefined, named, false)).toEqual({
      refused: 'client certificate CN gw-z is not a user of this broker',
    });
    expect(certLogin({ error: 'unable to verify the first certificate' }, 'gw-a', named, false)).toEqual({
      refused: 'client certificate not accepted: unable to verify the first certificate',
    });
    expect(certLogin({ cn: 'gw-a' }, 'operator', named, false)).toEqual({
      refused: "username operator is not the client certificate's CN gw-a",
    });
  });

  it('leaves a login without a certificate to its password, unless certificates are required', () => {
    expect(certLogin(undefined, 'operator', named, false)).toBeUndefined();
    expect(certLogin(undefined, 'operator', named, true)).toMatchObject({ refused: /required/ });
  });
});
