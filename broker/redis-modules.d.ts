// These two ship no types; the broker only constructs them and hands them to Aedes.
declare module 'aedes-persistence-redis' {
  const persistence: (opts: Record<string, unknown>) => {
    addSubscriptions: (client: unknown, subs: object, cb?: unknown) => unknown;
  };
  export default persistence;
}
declare module 'mqemitter-redis' {
  const mq: (opts: Record<string, unknown>) => unknown;
  export default mq;
}
