// Waiting on events with a timeout, and free ports, for tests: the same helpers the command uses.
export { freePort, waitFor } from '../../cli/services/ports.ts';
