import { MemoryStore } from '../../../src/store/memory-store.js';
import { PARTITIONS, storeContract } from './store-contract.js';

storeContract('memory', () => Promise.resolve(new MemoryStore(PARTITIONS)));
