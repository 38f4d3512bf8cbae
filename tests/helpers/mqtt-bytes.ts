// MQTT 3.1.1 packets by hand, so a test or a bench can announce a packet it never sends in full.

/** The remaining-length field: 7 bits a byte, high bit = more. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 128;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}

/** A UTF-8 string with its two-byte length. */
export const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 255]), Buffer.from(s)]);

/** A packet of `type` (the whole first byte) whose header announces `announced` bytes after it. */
export const frame = (type: number, body: Buffer, announced = body.length): Buffer =>
  Buffer.concat([Buffer.from([type]), varint(announced), body]);

/** CONNECT with a user name and password and a clean session. */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const flags = 0x80 | 0x40 | 0x02;
  return frame(
    0x10,
    Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, 60]), str(clientId), str(username), str(password)]),
  );
}

/** PUBLISH at QoS 1 (packet id 1); `announced` may claim more bytes than the body holds. */
export function publishPacket(topic: string, payload: Buffer, announced?: number): Buffer {
  return frame(0x32, Buffer.concat([str(topic), Buffer.from([0, 1]), payload]), announced);
}
