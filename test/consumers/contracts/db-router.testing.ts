import { createMemoryTokenStore } from '@switchboard/db-router';
import { tokenStoreContract } from '@switchboard/db-router/testing';

// Two handles on one store: what two instances sharing a Redis store see.
const shared = createMemoryTokenStore();
tokenStoreContract({ name: 'memory', store: () => shared, peerStore: () => shared });
