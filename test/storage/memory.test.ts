import { MemoryStorage } from '../../src/storage/memory.js';
import { describeStorageConformance } from './conformance.js';

describeStorageConformance('MemoryStorage', {
  create: () => Promise.resolve(new MemoryStorage()),
});
