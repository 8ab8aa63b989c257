import { createMemoryAuditLog, createMemoryGrantStore, createMemoryPolicyStore } from '@switchboard/rbac';
import { grantStoreContract, policyStoreContract } from '@switchboard/rbac/testing';

grantStoreContract({ name: 'memory', store: () => createMemoryGrantStore() });
policyStoreContract({
  name: 'memory',
  stores: () => {
    const auditLog = createMemoryAuditLog();
    return { policyStore: createMemoryPolicyStore({ auditLog }), store: createMemoryGrantStore({ auditLog }) };
  },
});
