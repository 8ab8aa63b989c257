import { createMemoryGrantStore } from '../src/index.ts';
import { grantStoreContract } from '../src/testing.ts';

grantStoreContract({ name: 'createMemoryGrantStore', store: () => createMemoryGrantStore() });
