import { describePackage } from '../../../test/package-contract.ts';

describePackage(new URL('..', import.meta.url));
