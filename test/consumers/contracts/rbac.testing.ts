import { createMemoryGrantStore } from '@switchboard/rbac';
import { grantStoreContract } from '@switchboard/rbac/testing';

grantStoreContract({ name: 'memory', store: () => createMemoryGrantStore() });
