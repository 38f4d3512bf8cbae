// Which process holds a listening TCP port, read from /proc (Linux): for servers that cannot listen on
// port 0 and are handed a port that was free a moment ago, so a test knows the server answering there
// is the one it started and not another process that took the port first.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Whether process `pid` has a socket listening on TCP `port` (IPv4 or IPv6, any address). */
export function listensOn(pid: number, port: number): boolean {
  const inodes = listeningInodes(pid, port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // gone
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false; // closed meanwhile
    }
  });
}

/** Inodes of the sockets in LISTEN state (0A) on `port`, in the network namespace of `pid`. */
function listeningInodes(pid: number, port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const out = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1]!.endsWith(`:${hex}`) && f[3] === '0A') out.add(f[9]!);
    }
  }
  return out;
}
