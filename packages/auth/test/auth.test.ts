import { createMemorySessionStore } from '../src/index.ts';
import { sessionStoreContract } from '../src/testing.ts';

// The published contract (tokens, sessions, cleanup, revocation) over the memory store.
sessionStoreContract({ name: 'memory', store: () => createMemorySessionStore() });
