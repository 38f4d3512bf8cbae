#!/usr/bin/env node
// Runs the TypeScript sources directly: tsx registers a loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
