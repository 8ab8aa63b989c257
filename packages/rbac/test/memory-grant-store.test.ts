import { createMemoryAuditLog, createMemoryGrantStore, createMemoryPolicyStore } from '../src/index.ts';
import { grantStoreContract, policyStoreContract } from '../src/testing.ts';

grantStoreContract({ name: 'createMemoryGrantStore', store: () => createMemoryGrantStore() });

policyStoreContract({
  name: 'createMemoryPolicyStore',
  stores: () => {
    const auditLog = createMemoryAuditLog();
    return { policyStore: createMemoryPolicyStore({ auditLog }), store: createMemoryGrantStore({ auditLog }) };
  },
});
